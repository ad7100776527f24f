// Object Lock in the pure code: parsing a default retention, deriving and reading a snapshot's lock,
// planning prune around locked versions.
import { describe, expect, it } from 'vitest';
import {
  derivedLock,
  lockReason,
  parseRetention,
  readLock,
  retentionText,
  type BucketLock,
} from '../../src/core/object-lock.js';
import { planPrune } from '../../src/core/prune-plan.js';
import { snapshotJson, type Snapshot, type SnapshotLock } from '../../src/core/snapshot.js';
import { run, snapshot } from '../support/snapshots.js';

const DAY = 86_400_000;
const now = new Date('2026-06-10T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY).toISOString();
const locked30: BucketLock = { enabled: true, defaultRetention: { mode: 'COMPLIANCE', days: 30 } };
const lock = (until: Date | null, extra: Partial<SnapshotLock> = {}): SnapshotLock => ({
  until,
  mode: until ? 'COMPLIANCE' : null,
  legalHold: false,
  source: 'version',
  ...extra,
});

describe('parseRetention', () => {
  it('takes whole days, weeks or years and a mode (compliance by default)', () => {
    expect(parseRetention('30d')).toEqual({ mode: 'COMPLIANCE', days: 30 });
    expect(parseRetention('4w1d', 'governance')).toEqual({ mode: 'GOVERNANCE', days: 29 });
    expect(parseRetention('1y', 'COMPLIANCE')).toEqual({ mode: 'COMPLIANCE', years: 1 });
    expect(retentionText(parseRetention('2y'))).toBe('COMPLIANCE 2y');
    expect(retentionText(parseRetention('7d', 'governance'))).toBe('GOVERNANCE 7d');
  });

  it('refuses what S3 cannot keep: hours, months, years and days mixed, 0, over 100 years, other modes', () => {
    for (const text of ['36h', '1d12h', '3mo', '1y2d', '0d', '101y', '30']) {
      expect(() => parseRetention(text), text).toThrow(/--object-lock/);
    }
    expect(() => parseRetention('30d', 'strict')).toThrow(/--mode strict: give compliance or governance/);
  });
});

describe("a snapshot's lock", () => {
  it('is derived from the default retention and the last write; absent without Object Lock', () => {
    const v = snapshot('v', daysAgo(10));
    expect(derivedLock(v, locked30)).toEqual({
      until: new Date(now.getTime() + 20 * DAY),
      mode: 'COMPLIANCE',
      legalHold: false,
      source: 'default',
    });
    expect(derivedLock(v, { enabled: true, defaultRetention: null })).toMatchObject({ until: null });
    expect(derivedLock(v, { enabled: false, defaultRetention: null })).toBeUndefined();
    expect(derivedLock(snapshot('dm', daysAgo(1), { state: 'deleted' }), locked30)).toBeUndefined();
    const year: BucketLock = { enabled: true, defaultRetention: { mode: 'GOVERNANCE', years: 1 } };
    expect(derivedLock(v, year)?.until).toEqual(new Date(now.getTime() + 355 * DAY));
  });

  it('read from the version, unless a run was written over later and the default says longer', () => {
    const read = lock(new Date(now.getTime() + DAY));
    expect(readLock(run('r', daysAgo(10)), locked30, read)).toEqual(read);
    const overwritten = run('r', daysAgo(10), 'complete', { lastWrite: new Date(daysAgo(2)) });
    expect(readLock(overwritten, locked30, read)).toMatchObject({
      until: new Date(now.getTime() + 28 * DAY),
      source: 'default',
    });
  });

  it('says why it stops a removal, or nothing', () => {
    const later = new Date(now.getTime() + 1000);
    expect(lockReason(lock(later), now)).toBe(`locked until ${later.toISOString()}`);
    expect(lockReason(lock(later, { source: 'default' }), now)).toMatch(/by the bucket default retention\)$/);
    expect(lockReason(lock(new Date(now.getTime() - 1)), now)).toBeNull();
    expect(lockReason(lock(null), now)).toBeNull();
    expect(lockReason(lock(null, { legalHold: true }), now)).toBe('under an Object Lock legal hold');
    expect(lockReason(lock(null, { source: 'unread' }), now)).toMatch(/^Object Lock retention not read/);
    expect(lockReason(undefined, now)).toBeNull();
  });

  it('goes into --json as retainUntil, lockMode, lockSource (and legalHold when on)', () => {
    const until = new Date(now.getTime() + DAY);
    expect(snapshotJson(snapshot('v', daysAgo(1), { lock: lock(until) }))).toMatchObject({
      retainUntil: until.toISOString(),
      lockMode: 'COMPLIANCE',
      lockSource: 'version',
    });
    const held = snapshotJson(snapshot('v', daysAgo(1), { lock: lock(null, { legalHold: true }) }));
    expect(held).toMatchObject({ retainUntil: null, legalHold: true });
    const plain = snapshotJson(snapshot('v', daysAgo(1)));
    expect(Object.keys(plain)).not.toContain('retainUntil');
    expect(Object.keys(plain)).not.toContain('verifiedAt');
  });
});

describe('prune around locked versions', () => {
  const plan = (snapshots: Snapshot[]) => planPrune(snapshots, { policy: { last: 1 }, now, force: true });

  it('keeps what is still locked, with the reason; removes what is no longer', () => {
    const until = new Date(now.getTime() + DAY);
    const p = plan([
      snapshot('v4', daysAgo(1), { lock: lock(until) }),
      snapshot('v3', daysAgo(2), { lock: lock(until) }),
      snapshot('v2', daysAgo(40), { lock: lock(new Date(now.getTime() - DAY)) }),
      snapshot('v1', daysAgo(50), { lock: lock(null) }),
    ]);
    expect(p.items.map((i) => [i.snapshot.id, i.action, i.reasons.join()])).toEqual([
      ['v4', 'keep', 'last'],
      ['v3', 'keep', `locked until ${until.toISOString()}`],
      ['v2', 'remove', ''],
      ['v1', 'remove', ''],
    ]);
    expect(p.totals).toMatchObject({ backups: 4, keep: 2, remove: 2, locked: 1, objectVersions: 2 });
  });

  it('keeps legal holds and locks not read; leaves delete markers and runs to the same rule', () => {
    const p = planPrune(
      [
        snapshot('v3', daysAgo(1)),
        snapshot('v2', daysAgo(40), { lock: lock(null, { legalHold: true }) }),
        snapshot('dm', daysAgo(41), { state: 'deleted' }),
        snapshot('v1', daysAgo(50), { lock: lock(null, { source: 'unread' }) }),
        run('r1', daysAgo(60), 'broken', { lock: lock(new Date(now.getTime() + DAY)) }),
      ],
      { policy: { last: 1 }, now, force: true, deleteMarkers: true },
    );
    expect(p.items.map((i) => [i.snapshot.id, i.action])).toEqual([
      ['v3', 'keep'],
      ['v2', 'keep'],
      ['dm', 'remove'],
      ['v1', 'keep'],
      ['r1', 'keep'],
    ]);
    expect(p.items[3]!.reasons).toEqual([expect.stringMatching(/not read .*prune again/)]);
    expect(p.totals).toMatchObject({ locked: 3, otherRemoved: 1 });
  });

  it('does not count locked versions towards "more than half" (--force)', () => {
    const until = new Date(now.getTime() + DAY);
    const p = planPrune(
      [
        snapshot('v3', daysAgo(1)),
        ...['v2', 'v1'].map((id, i) => snapshot(id, daysAgo(2 + i), { lock: lock(until) })),
      ],
      { policy: { last: 1 }, now },
    );
    expect(p.needsForce).toBe(false);
    expect(p.totals.remove).toBe(0);
  });
});
