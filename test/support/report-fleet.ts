// A made-up fleet of 50 hosts with 30 days of nightly backups, for the report's rendering tests: most
// are fine, a few are in the kinds of trouble the report must make plain at a glance.
import type { HealthThresholds } from '../../src/core/health.js';
import type { ReportInput } from '../../src/core/report.js';
import type { Snapshot } from '../../src/core/snapshot.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const NOW = new Date('2026-11-30T09:00:00Z');
const THRESHOLDS: HealthThresholds = { maxAgeMs: 26 * HOUR, warnAgeMs: null, policyWarnMs: 3 * DAY };

/** Which host is in which trouble (the rest are OK). */
export const TROUBLE = {
  stopped: 'db07', // no backup for 3 days: CRITICAL, a gap up to now
  shrunk: 'db12', // the latest backup shrank to 3% of the usual: CRITICAL, an anomaly
  deleted: 'files02', // the key's latest version is a delete marker: CRITICAL
  broken: 'web04', // runs: a broken and an incomplete one among complete ones: WARNING
  expiring: 'mail01', // its policy expires in 30 hours: WARNING
  outage: 'git01', // two nights missed ten days ago, fine since: OK, with a gap in the past
} as const;

/** A deterministic pseudo-random stream, so the picture is the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function names(): string[] {
  const groups: [string, number][] = [
    ['db', 16],
    ['web', 14],
    ['files', 6],
    ['mail', 4],
    ['git', 2],
    ['ci', 4],
    ['wiki', 2],
    ['vault', 2],
  ];
  return groups.flatMap(([group, count]) =>
    Array.from({ length: count }, (_, i) => `${group}${String(i + 1).padStart(2, '0')}`),
  );
}

/** The host of `LARGE` that stores ten thousand times what the others do (some hundreds of GiB a night). */
export const LARGE_HOST = 'db01';

export interface FleetOptions {
  /** Hosts (the first of the 50). */
  hosts?: number;
  /** Puts the hosts of TROUBLE in their trouble (default); false: every host is fine. */
  trouble?: boolean;
  /** Makes LARGE_HOST ten thousand times larger than the rest. */
  large?: boolean;
}

export function reportFleet(options: FleetOptions = {}): ReportInput[] {
  const trouble = options.trouble ?? true;
  return names()
    .slice(0, options.hosts ?? 50)
    .map((host, h) => fleetHost(host, h, trouble, options.large === true && host === LARGE_HOST));
}

function fleetHost(host: string, h: number, trouble: boolean, large: boolean): ReportInput {
  // In an all-OK fleet no host is in TROUBLE's trouble.
  const inTrouble = (what: keyof typeof TROUBLE) => trouble && host === TROUBLE[what];
  const next = random(h + 1);
  const isRuns = host.startsWith('web');
  const base = (1 + next() * 40) * 1024 ** 2 * (host.startsWith('files') ? 20 : 1) * (large ? 10_000 : 1);
  const snapshots: Snapshot[] = [];
  for (let day = 30; day >= 0; day--) {
    if (inTrouble('stopped') && day < 3) continue;
    if (inTrouble('outage') && (day === 10 || day === 11)) continue;
    const time = new Date(NOW.getTime() - day * DAY - 6.5 * HOUR + next() * 20 * 60_000);
    let size = Math.round(base * (1 + (30 - day) * 0.004) * (0.97 + next() * 0.06));
    if (inTrouble('shrunk') && day === 0) size = Math.round(base * 0.03);
    let state: Snapshot['state'] = 'complete';
    if (inTrouble('broken') && day === 4) state = 'broken';
    if (inTrouble('broken') && day === 9) state = 'incomplete';
    snapshots.push({
      kind: isRuns ? 'run' : 'version',
      id: isRuns
        ? `${time.toISOString().replace(/[-:]|\.\d+/g, '')}-${h.toString(16).padStart(6, '0')}`
        : `v${h}-${day}`,
      time,
      size: state === 'complete' ? size : Math.round(size / 3),
      state,
      ...(isRuns ? { parts: 1 } : {}),
      notes:
        state === 'broken'
          ? ['part-000001 is 4.1 MiB, not the 12.0 MiB the manifest says']
          : state === 'incomplete'
            ? ['no manifest']
            : [],
      objectVersions: 2,
      storedBytes: size,
    });
  }
  if (inTrouble('deleted'))
    snapshots.push({
      kind: 'version',
      id: 'marker-1',
      time: new Date(NOW.getTime() - 2 * HOUR),
      size: 0,
      state: 'deleted',
      notes: [],
      objectVersions: 1,
      storedBytes: 0,
    });
  snapshots.reverse(); // newest first, as listed
  const expiresIn = inTrouble('expiring') ? 30 * HOUR : (4 + next() * 3) * DAY;
  return {
    host,
    target: `s3://acme-backups/${host}/${isRuns ? '' : 'dump.sql.gz.gpg'}`,
    snapshots,
    strays: 0,
    thresholds: THRESHOLDS,
    policyExpiresAt: new Date(NOW.getTime() + expiresIn),
  };
}
