// The renewal URL tried as a host will try it: a plain GET, no AWS credentials. A URL its signer may
// not read answers 403 to every host, and only its first renewal would tell; publish tells now.
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { SealdropError } from '../../core/errors.js';

/** What a host reads at most (as src/agent/renew.ts): more than this is not the policy just uploaded. */
const MAX_BODY_BYTES = 1 << 20;

const dispatcher = new Agent({ connect: { timeout: 15_000 }, headersTimeout: 30_000, bodyTimeout: 30_000 });

/** Why hosts can't fetch what a renewal URL names. */
export interface RenewalUrlProblem {
  /** The HTTP status, or null when the server could not be reached. */
  status: number | null;
  /** S3's error code from the body (AccessDenied, SignatureDoesNotMatch…), when it gave one. */
  s3Code: string | null;
  /** One line, never holding the URL (it carries a signature). */
  message: string;
}

/** Null when `url` answers 200 with exactly `expected`; else what went wrong. */
export async function checkRenewalUrl(url: string, expected: string): Promise<RenewalUrlProblem | null> {
  let response;
  try {
    response = await request(url, { method: 'GET', dispatcher });
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    return {
      status: null,
      s3Code: null,
      message: `its renewal URL could not be reached: ${code ?? message ?? String(error)}`,
    };
  }
  const wanted = Buffer.from(expected, 'utf8');
  const hash = createHash('sha256');
  const head: Buffer[] = []; // the start of an error body, for S3's code
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > Math.max(wanted.length, MAX_BODY_BYTES)) {
      response.body.destroy();
      break;
    }
    hash.update(chunk);
    if (size - chunk.length < 4096) head.push(chunk);
  }
  const { statusCode } = response;
  if (statusCode === 200) {
    if (size === wanted.length && hash.digest().equals(createHash('sha256').update(wanted).digest()))
      return null;
    return {
      status: 200,
      s3Code: null,
      message: 'its renewal URL answered 200 with something other than the policy just uploaded',
    };
  }
  const s3Code = /<Code>([^<]{1,100})<\/Code>/.exec(Buffer.concat(head).toString('utf8'))?.[1] ?? null;
  return {
    status: statusCode,
    s3Code,
    message: `its renewal URL answered ${statusCode}${s3Code ? ` ${s3Code}` : ''}: hosts can't fetch their successor`,
  };
}

/** The failure publish reports for a host: which identity must sign, and why. */
export function renewalUrlError(problem: RenewalUrlProblem, signer: string): SealdropError {
  const denied = problem.status === 403;
  return new SealdropError('FAILED', `${problem.message} (signed by ${signer})`, {
    hint: denied
      ? `The presigned renewal URL is signed by the credentials fleet publish runs with: run it with an identity allowed s3:GetObject on .sealdrop/renew/* (the admin's), not the uploader, whom setup's bucket policy denies every read.`
      : 'Hosts fetch their successor with this URL: check the endpoint (fleet file), the bucket and the clock, then publish again.',
  });
}
