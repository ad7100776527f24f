// A prune plan as prune and fleet prune print it: the table and its totals, the --json document, and
// what --yes did. One renderer, so the dry run and --yes, one set and a fleet, read the same.
import { plural } from '../core/words.js';
import type { PruneResult } from '../admin/backups/prune.js';
import type { WalPruneResult } from '../admin/wal/prune.js';
import { SNAPSHOT_WORDS, snapshotJson, stateText } from '../core/snapshot.js';
import { formatBytes } from '../core/units.js';
import { columns } from './output.js';

export function pruneJson(result: PruneResult) {
  const { plan } = result;
  return {
    target: result.target,
    policy: plan.policy,
    dryRun: result.dryRun,
    snapshots: plan.items.map(({ snapshot, action, reasons }) => ({
      ...snapshotJson(snapshot),
      action,
      reasons,
    })),
    totals: plan.totals,
    needsForce: plan.needsForce,
    blind: plan.blind,
    warnings: plan.warnings,
    deleted: result.deleted,
    failures: result.failures,
    failed: result.failed,
    interrupted: result.interrupted,
    ...(result.wal ? { wal: walJson(result.wal) } : {}),
  };
}

function walJson(wal: WalPruneResult) {
  const { target, plan, files, objectVersions, bytesFreed, first, last, deleted, failures, skipped } = wal;
  return { target, ...plan, files, objectVersions, bytesFreed, first, last, deleted, failures, skipped };
}

/** The plan, the same for the dry run and --yes; `label` names the backup set (fleet prune: the host). */
export function* describe(result: PruneResult, label = result.target): Generator<string> {
  const { plan } = result;
  const kind = plan.items[0]?.snapshot.kind ?? 'version';
  function* rows() {
    for (const { snapshot, action, reasons } of plan.items)
      yield [
        snapshot.id,
        snapshot.time.toISOString(),
        snapshot.state === 'deleted' ? '-' : formatBytes(snapshot.size),
        stateText(snapshot),
        action,
        reasons.join(', '),
      ];
  }
  const { totals } = plan;
  yield `${label}: policy ${plan.policy}`;
  yield* columns(
    [`${SNAPSHOT_WORDS[kind].noun.toUpperCase()} ID`, 'TIME', 'SIZE', 'STATE', 'ACTION', 'REASONS'],
    rows,
    { right: [2] },
  );
  yield (
    `${plural(totals.backups, 'backup')}: keep ${totals.keep}, remove ${totals.remove}` +
    `${totals.otherRemoved ? ` and ${totals.otherRemoved} other (incomplete, broken, delete markers)` : ''}` +
    `${totals.locked ? `; ${totals.locked} kept by Object Lock` : ''}` +
    `${totals.rejected.count ? `; ${totals.rejected.count} rejected by verify (${formatBytes(totals.rejected.bytes)})` : ''}` +
    `${totals.unproven.count ? `; ${totals.unproven.count} not proven yet (${formatBytes(totals.unproven.bytes)})` : ''}` +
    `; ${plural(totals.objectVersions, 'object version')}, ${formatBytes(totals.bytesFreed)}` +
    // Carried out, it was forced: --yes without --force refuses before deleting anything.
    (plan.needsForce
      ? `; removes more than half${result.dryRun ? ': --yes needs --force' : ' (--force)'}`
      : '')
  );
  if (result.wal) yield* describeWal(result.wal);
  if (result.dryRun && totals.remove + totals.otherRemoved + (result.wal?.objectVersions ?? 0) > 0)
    yield 'Dry run: nothing was deleted. Run again with --yes to delete.';
}

function* describeWal(wal: WalPruneResult): Generator<string> {
  yield `WAL ${wal.target}: ${wal.plan.reason}`;
  if (wal.plan.cutoff === null) return;
  const range = wal.first === null ? '' : ` (${wal.first}${wal.last === wal.first ? '' : ` … ${wal.last}`})`;
  yield `WAL: remove ${plural(wal.files, 'archived file')}${range}, ${plural(wal.objectVersions, 'object version')}, ${formatBytes(wal.bytesFreed)}; timeline history files are kept`;
  if (wal.plan.backupFiles.length > 0)
    yield `WAL: also the backup history files of removed base backups: ${wal.plan.backupFiles.join(', ')}`;
  if (wal.skipped) yield `WAL: nothing deleted: ${wal.skipped}`;
}

/** Object versions S3 refused to delete: the base backups' and the WAL's. */
export function failuresOf(result: PruneResult): number {
  return result.failures + (result.wal?.failures ?? 0);
}

export function outcome(result: PruneResult): string {
  const { wal } = result;
  const planned = result.plan.totals.objectVersions + (wal && !wal.skipped ? wal.objectVersions : 0);
  const deleted = result.deleted + (wal?.deleted ?? 0);
  const failures = failuresOf(result);
  if (result.interrupted)
    return `Interrupted: deleted ${deleted} of ${planned} object versions; run prune again to continue.`;
  return `Deleted ${deleted} of ${planned} object versions${failures ? ` (${failures} failed)` : ''}${wal ? `, ${wal.deleted} of them WAL` : ''}.`;
}
