// `npm run bench` is not timed in CI, and twice it broke unseen: the stock pipelines failed once `policy
// curl` printed a config file, and the gpg-made object's restore once unbound objects needed
// --allow-unbound. One tiny run here keeps every row running and every object coming back whole.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { run } from '../support/cli.js';
import { withEnv } from '../support/s3.js';

const BENCH = fileURLToPath(new URL('../../scripts/bench', import.meta.url));

it('npm run bench runs every row, the stock pipelines and the zstd rows included, and gets every object back', async () => {
  const result = await run(BENCH, ['4MiB', '1'], { env: withEnv() });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stderr).not.toMatch(/bench: failed|left out/);
  const rows = [
    'sealdrop push (gzip -6)',
    'sealdrop push --compress zstd (level 3)',
    'pigz -6 \\| gpg \\| curl',
    'zstd -T0 \\| gpg \\| curl',
    'sealdrop restore (zstd object)',
    "sealdrop restore (gpg-made object, pigz pipeline's)",
    'aws s3 cp - \\| gpg -d \\| gunzip',
    'aws s3 cp - \\| gpg -d \\| zstd -d',
  ];
  for (const row of rows) expect(result.stdout).toContain(`| \`${row}\` | `);
  // Every row has its CPU-seconds and its ratio to the reference.
  expect(result.stdout).toMatch(
    /\| `pigz -6 \\\| gpg \\\| curl` \| [\d.]+ s \| \d+ \| [\d.]+ \| .* \| 1\.00 \(ref\) \|/,
  );
  expect(result.stdout.match(/back byte for byte: yes/g)).toHaveLength(5);
  expect(result.stdout).not.toMatch(/back byte for byte: no/);
}, 300_000);
