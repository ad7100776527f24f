// Vitest global setup: makes sure gpg, curl, zstd and a real S3 server (Ceph RGW, scripts/local-s3) are available
// and hands the server's endpoint and credentials to the tests (`inject('s3')`, see test/support/s3.ts).
//
// The server is deliberately left running after the run: the next run reuses it in well under a second
// instead of starting Ceph again. Stop it with `scripts/local-s3 down`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3TestEnv {
  endpoint: string;
  region: string;
  admin: S3Credentials;
  /** Write-only user: may PutObject where a bucket policy allows it, nothing else. */
  uploader: S3Credentials;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestEnv;
    /** The variables `scripts/local-s3 up` exports (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...). */
    s3Exports: Record<string, string>;
  }
}

const scripts = fileURLToPath(new URL('../../scripts/', import.meta.url));

/** Runs a script, forwarding its progress (stderr) live; resolves with stdout. */
function run(script: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(scripts + script, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else {
        const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
        reject(
          new Error(
            `scripts/${script} ${args.join(' ')} ${how}\n${stderr.trim().split('\n').slice(-20).join('\n')}`,
          ),
        );
      }
    });
  });
}

export function parseExports(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

export default async function setup(project: TestProject): Promise<void> {
  let exports: Record<string, string>;
  try {
    // The Debian tools check the agent's package, its units, the man pages and the completions.
    const debianTools = [
      'lintian',
      'systemd-analyze:systemd',
      'man:man-db',
      'groff:groff-base',
      'zsh',
      'fish',
    ];
    // Monitoring: promtool (Debian's prometheus) checks the metrics file and the example alert rules;
    // Debian's Chromium renders the report.
    const monitoringTools = ['promtool:prometheus', 'chromium'];
    await run('need', ['gpg:gnupg', 'curl', 'zstd', ...debianTools, ...monitoringTools], 10 * 60_000);
    exports = parseExports(await run('local-s3', ['up'], 5 * 60_000));
  } catch (err) {
    // Never skip: a test run without the real server would prove nothing.
    throw new Error(
      `Could not start the local S3 server (Ceph RGW) the tests need${process.env.CI ? ' (CI)' : ''}.\n` +
        `Run \`scripts/local-s3 up\` by hand to see why; its logs are in ${process.env.SEALDROP_S3_DIR ?? '/tmp/sealdrop-local-s3'}/log.\n` +
        (err instanceof Error ? err.message : String(err)),
      { cause: err },
    );
  }

  const need = (name: string): string => {
    const value = exports[name];
    if (!value) throw new Error(`scripts/local-s3 up did not export ${name}`);
    return value;
  };
  project.provide('s3Exports', exports);
  project.provide('s3', {
    endpoint: need('AWS_ENDPOINT_URL'),
    region: need('AWS_REGION'),
    admin: { accessKeyId: need('AWS_ACCESS_KEY_ID'), secretAccessKey: need('AWS_SECRET_ACCESS_KEY') },
    uploader: {
      accessKeyId: need('SEALDROP_UPLOADER_ACCESS_KEY_ID'),
      secretAccessKey: need('SEALDROP_UPLOADER_SECRET_ACCESS_KEY'),
    },
  });
}
