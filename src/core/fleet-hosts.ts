// A fleet's hosts as the read side sees them: which host a stored key belongs to, and each host as a
// target of status and prune, with its thresholds, retention and the admin's copy of its policy.
import { resolve } from 'node:path';
import { SealdropError } from './errors.js';
import { POLICY_SUFFIX, type Fleet, type FleetHost } from './fleet.js';
import type { HealthThresholds } from './health.js';
import type { RetentionPolicy } from './retention.js';
import type { S3Location } from './s3-url.js';

/** What the read side (status, prune) needs per host. */
export interface HostBackupSet {
  host: string;
  location: S3Location;
  /** Its WAL archive, pruned with its base backups (`location`) and watched as a chain; null: none. */
  wal: S3Location | null;
  thresholds: HealthThresholds;
  retention: RetentionPolicy;
  /** The admin's copy of the host's policy (for its expiry), when the fleet has a policy directory. */
  policyFile: string | null;
}

/** Per-host targets with their thresholds and retention, for fleet status and prune. */
export function hostBackupSets(fleet: Fleet, policyDir = fleet.policyDir): HostBackupSet[] {
  return fleet.hosts.map((host) => ({
    host: host.name,
    location: host.location,
    wal: host.wal,
    thresholds: {
      maxAgeMs: host.settings.maxAge,
      warnAgeMs: host.settings.warnAge,
      policyWarnMs: host.settings.policyWarn,
      anomaly: host.settings.anomaly,
      nothingStored: 'CRITICAL',
      maxUnverifiedAgeMs: host.settings.maxUnverifiedAge,
      wal: {
        warnAgeMs: host.settings.walWarnAge,
        maxAgeMs: host.settings.walMaxAge,
        baseAgeMs: host.settings.walBaseAge,
      },
    },
    retention: host.settings.keep,
    policyFile: policyDir === undefined ? null : resolve(policyDir, `${host.name}${POLICY_SUFFIX}`),
  }));
}

/** The host called `name`, or HOST_NOT_IN_FLEET naming the hosts there are (a screenful at most). */
export function findHost(fleet: Fleet, name: string): FleetHost {
  const host = fleet.hosts.find((h) => h.name === name);
  if (host) return host;
  const names = fleet.hosts.slice(0, 20).map((h) => h.name);
  const more = fleet.hosts.length - names.length;
  throw new SealdropError('HOST_NOT_IN_FLEET', `${name} is not a host of ${fleet.source}`, {
    hint: `Its hosts: ${names.join(', ')}${more > 0 ? `, and ${more} more` : ''}.`,
  });
}

/**
 * Which host a stored key belongs to (its exact key, or the prefix it lies under), or null: a stray.
 * Hosts never overlap (parseFleet refuses it), so there is at most one. O(depth of the key) per lookup,
 * for listings of millions of keys.
 */
export function hostIndex(hosts: readonly FleetHost[]): (key: string) => FleetHost | null {
  const byKey = new Map<string, FleetHost>();
  for (const host of hosts) byKey.set(host.location.key, host);
  return (key) => {
    const exact = byKey.get(key);
    if (exact && !exact.location.isPrefix) return exact;
    return underPrefix(byKey, key, (host) => host.location.isPrefix);
  };
}

/** Which host's WAL archive (`wal:`) a stored key lies in, or null; as hostIndex, O(depth of the key). */
export function walIndex(hosts: readonly FleetHost[]): (key: string) => FleetHost | null {
  const byPrefix = new Map<string, FleetHost>();
  for (const host of hosts) if (host.wal) byPrefix.set(host.wal.key, host);
  return (key) => underPrefix(byPrefix, key, () => true);
}

function underPrefix(
  byPrefix: ReadonlyMap<string, FleetHost>,
  key: string,
  accept: (host: FleetHost) => boolean,
): FleetHost | null {
  for (let slash = key.indexOf('/'); slash !== -1; slash = key.indexOf('/', slash + 1)) {
    const host = byPrefix.get(key.slice(0, slash + 1));
    if (host && accept(host)) return host;
  }
  return null;
}
