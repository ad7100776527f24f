import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two cores and one shared S3 server: modest file-level parallelism.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Installs the stock zstd tool when missing (the zstd tests compare with it).
          globalSetup: ['test/support/unit-setup.ts'],
        },
      },
      {
        // The unit tests again in a zone with DST and an offset, beside the rest (npm test runs in UTC):
        // what treats local time as UTC fails here.
        test: {
          name: 'unit-new-york',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/support/unit-setup.ts'],
          env: { TZ: 'America/New_York' },
          setupFiles: ['test/support/zone-setup.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/interop/**/*.test.ts'],
          // Brings up the real S3 server (Ceph RGW) and installs gpg/curl when missing.
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          // The tests' own SDK clients: the pinned SDK works on Node 20 (see src/admin/s3/client.ts).
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
