// A host whose backups are revoked in the bucket policy but whose WAL archive's uploads are not denied
// (revoked before revoke covered WAL archives, or a statement taken out by hand) is not cut off: fleet
// status and the report page for its open place alike, with the same words.
import {
  GetBucketPolicyCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { fleetReportTargets, fleetStatus } from '../../src/admin/backups/fleet.js';
import { gatherReport } from '../../src/admin/backups/report.js';
import { DEFAULT_ANOMALY_THRESHOLDS } from '../../src/core/anomaly.js';
import { parseFleet } from '../../src/core/fleet.js';
import { buildReport } from '../../src/core/report.js';
import { reportHtml } from '../../src/core/report-html.js';
import { revocationStatement } from '../../src/core/revocation.js';
import { segmentFileName } from '../../src/core/wal.js';

const FLEET = `fleet: 1
bucket: acme-backups
endpoint: http://127.0.0.1:7480
recipients: [keys/admin.pub.asc]
hosts:
  pg: {prefix: pg/base/, wal: pg/wal/}
`;

const BACKUPS = { bucket: 'acme-backups', key: 'pg/base/', isPrefix: true };
// A Sid keeps whole seconds.
const CUT = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
const HALF_REVOKED =
  /^pg is revoked \(since \d{4}-.*\) but uploads here are not denied: run sealdrop fleet revoke \/etc\/sealdrop\/fleet\.yaml pg --yes again$/;

/**
 * The bucket as S3 shows it: a bucket policy denying the host's backups (not its WAL archive), and a
 * WAL archive that is healthy otherwise (a base backup and the segments after it, the newest a minute
 * old). Nothing else is stored; what else is asked fails.
 */
function bucket(): S3Client {
  const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);
  const wal = [`${segmentFileName(1, 2)}.00000028.backup`, segmentFileName(1, 2), segmentFileName(1, 3)].map(
    (name, i) => ({
      Key: `pg/wal/${name}.gz.gpg`,
      VersionId: `v${i}`,
      IsLatest: true,
      LastModified: minutesAgo(3 - i),
      Size: 1000,
    }),
  );
  const policy = { Version: '2012-10-17', Statement: [revocationStatement(BACKUPS, CUT)] };
  return {
    send: (command: unknown) => {
      if (command instanceof GetBucketPolicyCommand)
        return Promise.resolve({ Policy: JSON.stringify(policy) });
      if (command instanceof ListObjectVersionsCommand) {
        const listed: Partial<ListObjectVersionsCommandOutput> = {
          Versions: command.input.Prefix === 'pg/wal/' ? wal : [],
          IsTruncated: false,
        };
        return Promise.resolve(listed);
      }
      return Promise.reject(Object.assign(new Error('not here'), { name: 'NotImplemented' }));
    },
  } as unknown as S3Client;
}

describe('a half-revoked host', () => {
  const fleet = parseFleet(FLEET, '/etc/sealdrop/fleet.yaml');

  it('fleet status pages for its open WAL archive', async () => {
    const result = await fleetStatus(bucket(), fleet);
    const [base, wal] = result.targets;
    expect(base).toMatchObject({ target: 's3://acme-backups/pg/base/', state: 'OK' });
    expect(wal).toMatchObject({ target: 's3://acme-backups/pg/wal/', state: 'CRITICAL', revokedAt: null });
    expect(wal!.reasons).toContainEqual(expect.stringMatching(HALF_REVOKED));
  });

  it('the report pages for it as fleet status does: CRITICAL, the same reason, on its section and its tile', async () => {
    const client = bucket();
    const { targets, warnings } = await fleetReportTargets(client, fleet, DEFAULT_ANOMALY_THRESHOLDS);
    expect(warnings).toEqual([]);
    const inputs = await gatherReport(client, targets, targets[0]!.thresholds!);
    const model = buildReport(inputs, { periodMs: 7 * 86_400_000 });
    const set = (suffix: string) => model.sets.find((s) => s.target.endsWith(suffix));
    const [base, wal] = [set('/pg/base/'), set('/pg/wal/')];
    expect(base).toMatchObject({ target: 's3://acme-backups/pg/base/', state: 'OK', revokedAt: CUT });
    expect(wal).toMatchObject({ target: 's3://acme-backups/pg/wal/', state: 'CRITICAL', wal: true });
    expect(wal!.revokedAt).toBeUndefined();
    const reason = wal!.reasons.find((r) => HALF_REVOKED.test(r));
    expect(reason).toBeDefined();
    // The same words as fleet status.
    const status = await fleetStatus(bucket(), fleet);
    expect(status.targets[1]!.reasons).toContain(reason);
    // Where a person looks: the archive's section and its tile among those in trouble, not REVOKED.
    const html = reportHtml(model, { title: 'fleet.yaml' });
    const section =
      /<section class="set CRITICAL"[^>]*data-target="s3:\/\/acme-backups\/pg\/wal\/"[^>]*>[\s\S]*?<\/section>/.exec(
        html,
      )?.[0];
    expect(section).toBeDefined();
    expect(section).not.toContain('data-revoked');
    expect(section).toContain(`<li>${reason}</li>`);
    const trouble = /<div class="trouble">([\s\S]*?)<\/div>/.exec(html)?.[1];
    expect(trouble).toMatch(
      /<a class="tile CRITICAL" [^>]*><b>pg<\/b><span>CRITICAL<\/span>.*but uploads here are not denied/,
    );
  });
});
