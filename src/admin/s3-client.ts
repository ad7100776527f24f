// The admin's S3 client: standard AWS credential chain, endpoint from flag or environment.
import { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../core/errors.js';

export interface S3ClientOptions {
  endpoint?: string;
  region?: string;
}

/** --endpoint, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS itself (undefined). */
function resolveEndpoint(endpoint?: string, env = process.env): string | undefined {
  return endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  // The SDK version is pinned and works on Node 20; its notice about future releases needing Node 22
  // is for us (see package.json), not for the operator reading sealdrop's stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = resolveEndpoint(options.endpoint);
  const region =
    options.region ||
    process.env.AWS_REGION ||
    process.env.AWS_DEFAULT_REGION ||
    (endpoint ? 'us-east-1' : undefined);
  return new S3Client({
    ...(region ? { region } : {}),
    // Self-hosted stores (Ceph RGW, MinIO) rarely have wildcard DNS for virtual-hosted buckets.
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
}

export type Credentials = Awaited<ReturnType<S3Client['config']['credentials']>>;

export async function resolveCredentials(client: S3Client): Promise<Credentials> {
  try {
    return await client.config.credentials();
  } catch (error) {
    throw new SealdropError('CREDENTIALS_MISSING', `no AWS credentials found (${(error as Error).message})`);
  }
}

export async function resolveRegion(client: S3Client): Promise<string> {
  try {
    return await client.config.region();
  } catch {
    throw new SealdropError('USAGE', 'no AWS region configured', {
      hint: 'Pass --region or set AWS_REGION.',
    });
  }
}

interface AwsError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Maps an AWS SDK failure to a SealdropError, with `what` saying what was being done. */
export function s3Error(error: unknown, what: string): SealdropError {
  if (error instanceof SealdropError) return error;
  const aws = error as AwsError;
  const status = aws.$metadata?.httpStatusCode;
  const code = aws.name ?? 'Error';
  if (status === undefined) {
    if (/credential/i.test(aws.message ?? ''))
      return new SealdropError('CREDENTIALS_MISSING', `${what}: ${aws.message}`);
    return new SealdropError('S3_UNREACHABLE', `${what}: ${aws.message ?? String(error)}`, { cause: error });
  }
  if (code === 'NoSuchBucket' || code === 'NoSuchKey' || code === 'NoSuchVersion' || status === 404) {
    return new SealdropError('NOT_FOUND', `${what}: ${code} (${aws.message})`);
  }
  const hint =
    code === 'AccessDenied' || status === 403
      ? 'These credentials lack the permission; use admin credentials for this command.'
      : code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch'
        ? 'Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile) and the endpoint.'
        : undefined;
  return new SealdropError(
    'S3_REFUSED',
    `${what}: S3 answered ${status} ${code}${aws.message && aws.message !== code ? ` (${aws.message})` : ''}`,
    {
      ...(hint ? { hint } : {}),
      cause: error,
    },
  );
}
