// Which backup set a target is: the one place where a key and a prefix part ways.
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Location } from '../../core/s3-url.js';
import type { BackupSet } from './backup-set.js';
import { KeySet } from './key-set.js';
import { RunSet } from './run-set.js';

/** A prefix (ending in /) holds runs; anything else is one key's versions. */
export function backupSet(
  client: S3Client,
  location: S3Location,
  { pageSize }: { pageSize?: number } = {},
): BackupSet {
  const source = { client, location, pageSize };
  return location.isPrefix ? new RunSet(source) : new KeySet(source);
}
