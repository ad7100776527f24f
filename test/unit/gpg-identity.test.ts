// gpg: identities as the command line gives them: how gpg is asked for the key, and that restore_command
// (written by pg restore) passes them on unchanged while key files become absolute paths.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { walFetchArgs } from '../../src/cli/pg.js';
import { gpgQuery, isGpgSpec } from '../../src/core/gpg-spec.js';

describe('gpg: identities', () => {
  it.each([
    ['gpg:4CA4A8012BBF4CEAB22EA84248C523DA73239937', '4CA4A8012BBF4CEAB22EA84248C523DA73239937'],
    ['gpg:4ca4 a801 2bbf 4cea b22e  a842 48c5 23da 7323 9937', '4CA4A8012BBF4CEAB22EA84248C523DA73239937'],
    ['gpg:0x48C523DA73239937', '48C523DA73239937'],
    ['gpg:alice@example.com', '<alice@example.com>'],
    ['gpg:<alice@example.com>', '<alice@example.com>'],
  ])('%s asks gpg for %s', (spec, query) => {
    expect(isGpgSpec(spec)).toBe(true);
    expect(gpgQuery(spec)).toBe(query);
  });

  it.each(['gpg:', 'gpg:alice', 'gpg:-alice@example.com --homedir /tmp', 'gpg:ABCDEF'])(
    '%s is refused as a usage error (exit 2)',
    (spec) => {
      expect(() => gpgQuery(spec)).toThrow(expect.objectContaining({ code: 'USAGE', exitStatus: 2 }));
    },
  );

  it('a key file named like a gpg spec only when it starts with gpg:', () => {
    expect(isGpgSpec('keys/gpg:admin.key.asc')).toBe(false);
    expect(isGpgSpec('admin.key.asc')).toBe(false);
  });

  it("pg restore's restore_command carries gpg: identities as given and key files as absolute paths", () => {
    const args = walFetchArgs({
      wal: 's3://acme-backups/db1/wal/',
      identity: ['gpg:alice@example.com', 'admin.key.asc'],
    });
    // After the command that runs this sealdrop (node and bin.cjs, or bin/sealdrop).
    expect(args.slice(args.indexOf('wal'))).toEqual([
      'wal',
      'fetch',
      's3://acme-backups/db1/wal/',
      '--identity',
      'gpg:alice@example.com',
      '--identity',
      resolve('admin.key.asc'),
    ]);
  });
});
