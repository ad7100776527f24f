import { describe, expect, it } from 'vitest';
import {
  findRevocation,
  formatBucketPolicy,
  parseBucketPolicy,
  planRevoke,
  planUnrevoke,
  type BucketPolicy,
} from '../../src/core/revocation.js';
import type { S3Location } from '../../src/core/s3-url.js';

const now = new Date('2026-05-12T10:15:00.123Z');
const key: S3Location = { bucket: 'acme', key: 'db1/mysql.sql.gz.gpg', isPrefix: false };
const prefix: S3Location = { bucket: 'acme', key: 'warehouse/', isPrefix: true };
const wal: S3Location = { bucket: 'acme', key: 'warehouse-wal/', isPrefix: true };
const other = {
  Sid: 'SealdropUploaderMayAddVersions',
  Effect: 'Allow',
  Principal: { AWS: ['arn:aws:iam::123456789012:user/uploader'] },
  Action: 's3:PutObject',
  Resource: 'arn:aws:s3:::acme/*',
};
const existing = (): BucketPolicy =>
  parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Id: 'mine', Statement: [other] }), 'acme');

describe('planRevoke', () => {
  it('adds a Deny of PutObject on the exact key, with a recognisable Sid carrying the time', () => {
    const plan = planRevoke(existing(), [key], now);
    expect(plan.already).toEqual([]);
    expect(plan.added).toEqual([
      {
        Sid: expect.stringMatching(/^SealdropRevoke[0-9a-f]{16}Since20260512T101500Z$/),
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::acme/db1/mysql.sql.gz.gpg',
      },
    ]);
  });

  it('denies everything under a prefix', () => {
    expect(planRevoke(null, [prefix], now).added[0]!.Resource).toBe('arn:aws:s3:::acme/warehouse/*');
  });

  it('keeps every other statement and field untouched, in order', () => {
    const plan = planRevoke(existing(), [key], now);
    const written = JSON.parse(formatBucketPolicy(plan.result));
    expect(Object.keys(written)).toEqual(['Version', 'Id', 'Statement']);
    expect(written.Statement).toEqual([other, ...plan.added]);
  });

  it('makes a new policy when the bucket has none', () => {
    const plan = planRevoke(null, [key], now);
    expect(JSON.parse(formatBucketPolicy(plan.result))).toEqual({
      Version: '2012-10-17',
      Statement: plan.added,
    });
  });

  it('is idempotent: an already revoked location adds nothing and says since when', () => {
    const once = planRevoke(existing(), [key], now);
    const reread = parseBucketPolicy(formatBucketPolicy(once.result), 'acme');
    const twice = planRevoke(reread, [key], new Date('2026-06-01T00:00:00Z'));
    expect(twice.added).toEqual([]);
    expect(twice.already.map((r) => r.since)).toEqual([new Date('2026-05-12T10:15:00Z')]);
    expect(twice.already[0]!.since).toEqual(new Date('2026-05-12T10:15:00Z'));
    expect(twice.result.statements).toEqual(reread.statements);
  });

  it('tells a key from a prefix and hosts from each other by Sid', () => {
    const revoked = planRevoke(existing(), [key], now).result;
    expect(findRevocation(revoked, key)).not.toBeNull();
    expect(findRevocation(revoked, { ...key, key: 'db2/mysql.sql.gz.gpg' })).toBeNull();
    expect(findRevocation(revoked, { ...key, key: 'db1/', isPrefix: true })).toBeNull();
    expect(findRevocation(revoked, { ...key, bucket: 'other' })).toBeNull();
  });

  it('revokes every place a host writes in one change: its backups and its WAL archive', () => {
    const plan = planRevoke(existing(), [prefix, wal], now);
    expect(plan.already).toEqual([]);
    expect(plan.added.map((s) => s.Resource)).toEqual([
      'arn:aws:s3:::acme/warehouse/*',
      'arn:aws:s3:::acme/warehouse-wal/*',
    ]);
    expect(findRevocation(plan.result, prefix)).not.toBeNull();
    expect(findRevocation(plan.result, wal)).not.toBeNull();
  });

  it('completes a revocation that left out a place: only the missing statement is added', () => {
    // A host revoked before its WAL archive was cut off with it: revoking again closes the archive.
    const earlier = parseBucketPolicy(
      formatBucketPolicy(planRevoke(existing(), [prefix], now).result),
      'acme',
    );
    const later = new Date('2026-06-01T00:00:00Z');
    const plan = planRevoke(earlier, [prefix, wal], later);
    expect(plan.already.map((r) => r.since)).toEqual([new Date('2026-05-12T10:15:00Z')]);
    expect(plan.added).toEqual([
      expect.objectContaining({
        Sid: expect.stringMatching(/Since20260601T000000Z$/),
        Resource: 'arn:aws:s3:::acme/warehouse-wal/*',
      }),
    ]);
    expect(plan.result.statements).toEqual([...earlier.statements, ...plan.added]);
  });

  it('refuses a key with wildcard characters: the Deny would cover more than the host', () => {
    expect(() => planRevoke(null, [{ ...key, key: 'db*/x' }], now)).toThrow(/wildcards/);
  });
});

describe('planUnrevoke', () => {
  it('removes exactly sealdrop’s statement and gives back the policy as it was', () => {
    const before = existing();
    const revoked = parseBucketPolicy(formatBucketPolicy(planRevoke(before, [key], now).result), 'acme');
    const plan = planUnrevoke(revoked, [key]);
    expect(plan.removed).toHaveLength(1);
    expect(formatBucketPolicy(plan.result!)).toBe(formatBucketPolicy(before));
  });

  it('leaves another location’s revocation alone', () => {
    const both = planRevoke(planRevoke(existing(), [key], now).result, [prefix], now).result;
    const plan = planUnrevoke(both, [key]);
    expect(findRevocation(plan.result, prefix)).not.toBeNull();
    expect(findRevocation(plan.result, key)).toBeNull();
  });

  it('removes the statements of every place given, and only those', () => {
    const all = planRevoke(existing(), [key, prefix, wal], now).result;
    const plan = planUnrevoke(all, [prefix, wal]);
    expect(plan.removed.map((s) => s.Resource)).toEqual([
      'arn:aws:s3:::acme/warehouse/*',
      'arn:aws:s3:::acme/warehouse-wal/*',
    ]);
    expect(findRevocation(plan.result, key)).not.toBeNull();
    expect(findRevocation(plan.result, wal)).toBeNull();
  });

  it('deletes the policy when its statement was the last one', () => {
    const plan = planUnrevoke(planRevoke(null, [key], now).result, [key]);
    expect(plan.removed).toHaveLength(1);
    expect(plan.result).toBeNull();
  });

  it('changes nothing for a location that is not revoked, and never deletes an empty-handed policy', () => {
    expect(planUnrevoke(null, [key])).toEqual({ removed: [], result: null });
    const plan = planUnrevoke(existing(), [key]);
    expect(plan.removed).toEqual([]);
    expect(plan.result).toEqual(existing());
  });
});

describe('parseBucketPolicy', () => {
  it('takes a lone statement object as a list of one', () => {
    expect(parseBucketPolicy(JSON.stringify({ Statement: other }), 'acme').statements).toEqual([other]);
  });

  it('reads back a statement a store returns with one-element lists', () => {
    const statement = planRevoke(null, [key], now).added[0]!;
    const normalised = {
      ...statement,
      Principal: { AWS: ['*'] },
      Action: ['s3:PutObject'],
      Resource: [statement.Resource],
    };
    const policy = parseBucketPolicy(JSON.stringify({ Statement: [normalised] }), 'acme');
    expect(findRevocation(policy, key)).not.toBeNull();
  });

  it.each([
    ['not JSON', '{"Statement": [', /is not JSON/],
    ['not an object', '[]', /is not a JSON object/],
    ['no Statement', '{"Version": "2012-10-17"}', /has no Statement list/],
    [
      'a statement that is not an object',
      '{"Statement": [1]}',
      /statement \(number 1\) that is not an object/,
    ],
    ['over 1 MiB', `{"Statement": [], "x": "${'a'.repeat(1024 * 1024)}"}`, /over 1 MiB/],
  ])('refuses a policy that is %s, naming the bucket and the fix', (_, text, reason) => {
    expect(() => parseBucketPolicy(text, 'acme')).toThrow(reason);
    try {
      parseBucketPolicy(text, 'acme');
    } catch (error) {
      expect(error).toMatchObject({ code: 'BUCKET_POLICY_INVALID', exitStatus: 1 });
      expect((error as Error).message).toMatch(/the bucket policy of acme .*; not changing it/);
    }
  });

  it('refuses a statement carrying sealdrop’s Sid that was changed (an Allow would read as revoked)', () => {
    const statement = { ...planRevoke(null, [key], now).added[0]!, Effect: 'Allow' };
    expect(() => parseBucketPolicy(JSON.stringify({ Statement: [statement] }), 'acme')).toThrow(
      /named as sealdrop's revocation but changed/,
    );
  });
});
