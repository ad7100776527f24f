// The admin's S3 client: standard AWS credential chain, endpoint from flag or environment.
import { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';

export interface S3ClientOptions {
  endpoint?: string;
  region?: string;
  /** -v: one line per request (method, bucket, key, status, time); never a header or a secret. */
  log?: (message: string) => void;
}

/** --endpoint, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS itself (undefined). */
export function resolveEndpoint(endpoint?: string, env = process.env): string | undefined {
  return endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  // The SDK version is pinned and works on Node 20; its notice about future releases needing Node 22
  // is for us (see package.json), not for the operator reading sealdrop's stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = checkEndpoint(resolveEndpoint(options.endpoint));
  const region =
    options.region ||
    process.env.AWS_REGION ||
    process.env.AWS_DEFAULT_REGION ||
    (endpoint ? 'us-east-1' : undefined);
  const client = new S3Client({
    ...(region ? { region } : {}),
    // Self-hosted stores (Ceph RGW, MinIO) rarely have wildcard DNS for virtual-hosted buckets.
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Policy files from several regions can be checked with one client.
    followRegionRedirects: true,
  });
  if (options.log) logRequests(client, options.log);
  return client;
}

function checkEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new SealdropError('USAGE', `the S3 endpoint "${endpoint}" is not an http(s) URL`, {
      hint: `Write the scheme too: --endpoint http://${endpoint.replace(/^\w+:\/\//, '')} (or https://…).`,
    });
  return endpoint;
}

/** -v: each request as "S3 GetObject bucket/key → 200 (12 ms)", after it is answered or fails. */
function logRequests(client: S3Client, log: (message: string) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string; Prefix?: string };
      const what = `${context.commandName?.replace(/Command$/, '') ?? 'request'} ${input.Bucket ?? ''}${input.Key ? `/${input.Key}` : input.Prefix ? `/${input.Prefix}*` : ''}`;
      const started = performance.now();
      try {
        const result = await next(args);
        const status = (result.response as { statusCode?: number }).statusCode;
        log(`S3 ${what} -> ${status ?? 'ok'} (${Math.round(performance.now() - started)} ms)`);
        return result;
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        log(
          `S3 ${what} -> ${status ?? (error as Error).name} (${Math.round(performance.now() - started)} ms)`,
        );
        throw error;
      }
    },
    { step: 'deserialize', name: 'sealdropVerboseLog' },
  );
}

export type Credentials = Awaited<ReturnType<S3Client['config']['credentials']>>;

export async function resolveCredentials(client: S3Client): Promise<Credentials> {
  try {
    return await client.config.credentials();
  } catch (error) {
    throw credentialsError(error);
  }
}

/** With AWS_PROFILE set, the profile is what failed; otherwise say where credentials come from. */
function credentialsError(error: unknown): SealdropError {
  const profile = process.env.AWS_PROFILE;
  const message = (error as Error).message ?? String(error);
  if (profile)
    return new SealdropError(
      'CREDENTIALS_MISSING',
      `the AWS profile "${profile}" was not found or has no credentials`,
      {
        hint: `Check ~/.aws/credentials and ~/.aws/config for [${profile}] (aws configure --profile ${profile}), or unset AWS_PROFILE.`,
      },
    );
  return new SealdropError('CREDENTIALS_MISSING', `no AWS credentials found (${message})`);
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

/**
 * Maps an AWS SDK failure to a SealdropError, with `what` saying what was being done and `bucket`
 * naming the bucket it was done to.
 */
export function s3Error(error: unknown, what: string, bucket?: string): SealdropError {
  if (error instanceof SealdropError) return error;
  const aws = error as AwsError & { Bucket?: string };
  const status = aws.$metadata?.httpStatusCode;
  const code = aws.name ?? 'Error';
  if (status === undefined) {
    if (/credential|profile/i.test(aws.message ?? '')) return credentialsError(error);
    return new SealdropError('S3_UNREACHABLE', `${what}: ${aws.message ?? String(error)}`, { cause: error });
  }
  if (code === 'NoSuchBucket') {
    const name = bucket ?? aws.Bucket ?? /s3:\/\/([^/]+)/.exec(what)?.[1];
    return new SealdropError(
      'NOT_FOUND',
      `${what}: the bucket ${name ?? ''} does not exist`.replace('  ', ' '),
      {
        hint: 'Check the bucket name and the endpoint (--endpoint, AWS_ENDPOINT_URL); `sealdrop setup s3://BUCKET --create` makes one.',
      },
    );
  }
  if (code === 'NoSuchKey' || code === 'NoSuchVersion' || status === 404) {
    return new SealdropError('NOT_FOUND', `${what}: ${code} (${aws.message})`);
  }
  const hint =
    code === 'SignatureDoesNotMatch'
      ? 'The secret access key does not belong to this access key id (or the request went to another endpoint or region): check AWS_SECRET_ACCESS_KEY or the profile.'
      : code === 'InvalidAccessKeyId'
        ? 'The store does not know this access key id: check AWS_ACCESS_KEY_ID (or the profile) and the endpoint.'
        : code === 'AccessDenied' || status === 403
          ? 'These credentials lack the permission; use admin credentials for this command.'
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
