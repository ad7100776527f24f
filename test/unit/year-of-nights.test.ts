// Two years of nights on the project's own planner, health and sketch code. Every night: a push at
// about 02:30 (a database dump that changes a few per cent a day), the nightly `verify --unproven` at
// 04:00 (decrypts each backup not proven yet and compares its content with the good one before it, by
// the keyed sketch), the README's recommended prune at 05:00, and status looked at four times a day.
// A genuine stream must never raise an alarm; every junk pattern a compromised host can push must be
// CRITICAL within a day of its first push, and must never cost a good backup its place.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assessHealth, type HealthThresholds } from '../../src/core/health.js';
import type { HealthState } from '../../src/core/health-state.js';
import { planPrune } from '../../src/core/prune-plan.js';
import { UNPROVEN_MAX, unprovenToVerify, type PrunedBackup } from '../../src/core/proofs.js';
import { planRetention, type RetentionPolicy } from '../../src/core/retention.js';
import { DEFAULT_MIN_OVERLAP, overlap, Sketcher, type Sketch } from '../../src/core/sketch.js';
import type { Snapshot } from '../../src/core/snapshot.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse('2025-01-01T00:00:00Z');
const NIGHTS = 730;
const ATTACK = 400;
const RECOMMENDED: RetentionPolicy = { daily: 14, weekly: 8, monthly: 24, yearly: -1, earliest: true };
const THRESHOLDS: HealthThresholds = { maxAgeMs: 26 * HOUR, warnAgeMs: null, policyWarnMs: 0 };
const KEY = new Uint8Array(32).fill(7);
const WINDOW = 30 * DAY;

/** A small deterministic generator, so a failure is the same failure every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A database of rows that changes a few per cent a night, dumped as pg_dump's COPY lines. */
class Database {
  readonly #rows: string[] = [];
  readonly #next = random(42);
  #serial = 0;

  constructor(rows: number) {
    for (let i = 0; i < rows; i++) this.#rows.push(this.#row());
  }

  #row(): string {
    const id = ++this.#serial;
    const n = Math.floor(this.#next() * 1e9);
    return `${id}\tcustomer-${n.toString(36)}\t${(n % 100_000) / 100}\t2025-${(n % 12) + 1}-${(n % 28) + 1}\n`;
  }

  /** A night's work: 3% of the rows updated (moved to the end, as PostgreSQL's MVCC does), 0.3% new. */
  night(): void {
    const updates = Math.ceil(this.#rows.length * 0.03);
    for (let i = 0; i < updates; i++) {
      const at = Math.floor(this.#next() * this.#rows.length);
      const [old] = this.#rows.splice(at, 1);
      this.#rows.push(`${old!.split('\t')[0]}\t${this.#row().split('\t').slice(1).join('\t')}`);
    }
    for (let i = 0; i < Math.ceil(this.#rows.length * 0.003); i++) this.#rows.push(this.#row());
  }

  dump(): Buffer {
    return Buffer.from(
      `COPY public.accounts (id, name, balance, since) FROM stdin;\n${this.#rows.join('')}\\.\n`,
    );
  }
}

function sketchOf(data: Buffer): Sketch {
  const sketcher = new Sketcher(KEY);
  sketcher.update(data);
  return sketcher.digest();
}

type Pattern = 'none' | 'same-size' | 'slow-shrink' | 'ramp' | 'flood' | 'beside' | 'over-the-cap';

interface Pushed {
  snapshot: Snapshot;
  genuine: boolean;
  sketch: Sketch;
}

interface Night {
  day: number;
  state: HealthState;
  reasons: string[];
}

/** The whole simulation for one pattern: what status said each day, and what was left in the end. */
function simulate(pattern: Pattern, nightCount = NIGHTS) {
  const db = new Database(400);
  const jitter = random(7);
  const stored = new Map<string, Pushed>();
  const proofs = new Map<string, { good: boolean; at: Date }>();
  let pruned: PrunedBackup[] = [];
  const genuineEver: Snapshot[] = [];
  const nights: Night[] = [];
  let junkSize = 0;
  let junkCount = 0;
  const push = (time: number, genuine: boolean, size: number) => {
    const data = genuine
      ? db.dump()
      : randomBytes(Math.min(size, pattern === 'over-the-cap' ? 1000 : 40_000));
    const snapshot: Snapshot = {
      kind: 'version',
      id: `${genuine ? 'genuine' : 'junk'}-${time}`,
      time: new Date(time),
      size,
      state: 'complete',
      notes: [],
      objectVersions: 1,
      storedBytes: size,
    };
    stored.set(snapshot.id, { snapshot, genuine, sketch: sketchOf(data) });
    if (genuine) genuineEver.push(snapshot);
  };
  const listing = (): Snapshot[] =>
    [...stored.values()]
      .map(({ snapshot }) => {
        const proof = proofs.get(snapshot.id);
        return {
          ...snapshot,
          verifiedAt: proof?.good ? proof.at : null,
          rejectedAt: proof && !proof.good ? proof.at : null,
        };
      })
      .sort((a, b) => b.time.getTime() - a.time.getTime());
  // verify --unproven: the backups it picks (at most UNPROVEN_MAX), oldest first, each against the good
  // one before it.
  const verify = (now: number) => {
    const all = listing();
    const picked = new Set(unprovenToVerify(all).map((s) => s.id));
    let before: Pushed | null = null;
    for (const s of all.reverse()) {
      const pushed = stored.get(s.id)!;
      if (picked.has(s.id)) {
        const good = !before || overlap(pushed.sketch, before.sketch) >= DEFAULT_MIN_OVERLAP;
        proofs.set(s.id, { good, at: new Date(now) });
        if (good) before = pushed;
      } else if (s.verifiedAt) before = pushed;
    }
  };
  const prune = (now: number) => {
    const plan = planPrune(listing(), { policy: RECOMMENDED, timeZone: 'UTC', now: new Date(now), pruned });
    const removed = plan.items.filter((item) => item.action === 'remove').map((item) => item.snapshot);
    for (const s of removed) {
      stored.delete(s.id);
      proofs.delete(s.id);
    }
    pruned = [...pruned, ...removed.map((s) => ({ time: s.time, size: s.size }))].filter(
      (b) => b.time.getTime() >= now - 2 * WINDOW,
    );
  };
  const look = (now: number) => assessHealth({ snapshots: listing(), pruned }, THRESHOLDS, new Date(now));
  for (let day = 0; day < nightCount; day++) {
    const midnight = START + day * DAY;
    const pushAt = midnight + 2 * HOUR + 30 * MINUTE + Math.round((jitter() - 0.5) * 30) * MINUTE;
    const size = Math.round(50e6 * (1 + day / 1000) * (1 + (jitter() - 0.5) * 0.04));
    db.night();
    const attacked = pattern !== 'none' && day >= ATTACK;
    if (!attacked || pattern === 'beside') push(pushAt, true, size);
    if (attacked) {
      junkSize ||= size;
      junkCount++;
      const junk = (time: number, bytes: number) => push(time, false, bytes);
      if (pattern === 'same-size') junk(pushAt, junkSize);
      if (pattern === 'slow-shrink') junk(pushAt, Math.round(junkSize * 0.882 ** junkCount));
      if (pattern === 'ramp') junk(pushAt, Math.round(junkSize * 1.05 ** junkCount));
      if (pattern === 'beside') junk(pushAt + 10 * MINUTE, size);
      if (pattern === 'flood')
        for (let i = 0; i < (day === ATTACK ? 50 : 1); i++) junk(pushAt + i * MINUTE, junkSize);
      // The real dump goes on, and more junk than verify takes a night is pushed after it.
      if (pattern === 'over-the-cap') {
        push(pushAt, true, size);
        for (let i = 1; i <= UNPROVEN_MAX + 1; i++) junk(pushAt + i * 1000, size);
      }
    }
    const states: { state: HealthState; reasons: string[] }[] = [look(midnight + 3 * HOUR)];
    verify(midnight + 4 * HOUR);
    states.push(look(midnight + 4 * HOUR + MINUTE));
    prune(midnight + 5 * HOUR);
    for (const hour of [6, 12, 23]) states.push(look(midnight + hour * HOUR));
    const worst = states.find((s) => s.state === 'CRITICAL') ?? states.find((s) => s.state !== 'OK');
    nights.push({ day, state: worst?.state ?? 'OK', reasons: worst?.reasons ?? [] });
  }
  const end = START + nightCount * DAY;
  const left = listing();
  return { nights, left, genuineEver, end };
}

/** Every good backup the recommended policy keeps of all that were ever pushed must still be there. */
function expectEveryPeriodIntact({ left, genuineEver, end }: ReturnType<typeof simulate>) {
  const expected = planRetention(genuineEver, RECOMMENDED, { timeZone: 'UTC', now: new Date(end) }).keep;
  const present = new Set(left.filter((s) => s.verifiedAt).map((s) => s.id));
  expect(expected.length).toBeGreaterThan(30);
  expect(expected.map((k) => k.id).filter((id) => !present.has(id))).toEqual([]);
}

describe(
  'two years of nights: a genuine stream, then each junk pattern from night 400',
  { timeout: 120_000 },
  () => {
    it('a genuine stream raises no alarm on any day, and keeps every period', () => {
      const run = simulate('none');
      expect(run.nights.filter((n) => n.state !== 'OK').slice(0, 3)).toEqual([]);
      expectEveryPeriodIntact(run);
      // The recommended policy's shape: 14 daily, then weeklies, monthlies and yearlies, and the earliest of each period (about 70).
      expect(run.left.length).toBeLessThan(100);
    });

    for (const pattern of ['same-size', 'slow-shrink', 'ramp', 'flood', 'beside'] as const)
      it(`${pattern} junk: CRITICAL within a day of the first junk push, and no good backup displaced`, () => {
        const run = simulate(pattern);
        expect(run.nights.slice(0, ATTACK).filter((n) => n.state !== 'OK')).toEqual([]);
        const first = run.nights[ATTACK]!;
        expect(first.state).toBe('CRITICAL');
        expect(first.reasons.join('\n')).toMatch(/REJECTED by verify/);
        // It stays CRITICAL for as long as the junk goes on (nobody acknowledged it).
        expect(run.nights.slice(ATTACK).every((n) => n.state === 'CRITICAL')).toBe(true);
        expectEveryPeriodIntact(run);
        // The newest genuine backup is still there, 330 nights later.
        expect(run.left.map((s) => s.id)).toContain(run.genuineEver.at(-1)!.id);
      });

    it('junk over the nightly verify cap beside the real dump: CRITICAL, and no genuine backup lost for want of a proof', () => {
      // Verify reaches only the junk pushed after each dump; the genuine dumps are never proven. Past 30
      // days they were removed as "not proven within 30 days", with no newer good backup to replace them.
      const run = simulate('over-the-cap', ATTACK + 45);
      expect(run.nights.slice(0, ATTACK).filter((n) => n.state !== 'OK')).toEqual([]);
      expect(run.nights.slice(ATTACK).every((n) => n.state === 'CRITICAL')).toBe(true);
      const left = new Set(run.left.map((s) => s.id));
      const since = run.genuineEver.filter((s) => s.time.getTime() >= START + ATTACK * DAY);
      expect(since).toHaveLength(45);
      expect(since.filter((s) => !left.has(s.id)).map((s) => s.time.toISOString())).toEqual([]);
    });
  },
);
