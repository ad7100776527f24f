// What a compromised host can do with nothing but its policy file: POST whatever it likes, under any
// key the policy allows, with curl (the seed article's tool).
import { readFile } from 'node:fs/promises';
import { run, type CliResult } from './cli.js';

/** POSTs `body` with the policy's fields, `change` overriding some (the key under a prefix, say). */
export async function curlPost(
  policyPath: string,
  body: Buffer | string,
  change: Record<string, string> = {},
  otherUrl?: string,
): Promise<CliResult> {
  const { url: ownUrl, fields } = JSON.parse(await readFile(policyPath, 'utf8'));
  const form = Object.entries({ ...fields, ...change }).flatMap(([name, value]) => [
    '--form-string',
    `${name}=${value}`,
  ]);
  return run(
    'curl',
    [
      '--silent',
      '--show-error',
      '--write-out',
      '\n%{http_code}',
      ...form,
      '-F',
      'file=@-',
      otherUrl ?? ownUrl,
    ],
    { input: body },
  );
}

/** The HTTP status curl wrote after the body. */
export function statusOf(result: { stdout: string }): number {
  return Number(result.stdout.trim().split('\n').at(-1));
}
