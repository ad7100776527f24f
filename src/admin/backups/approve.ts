// approve and ack: the admin's word on what verify proved. `approve` makes one backup good (a genuine
// dump after a change too large to continue the one before); `ack` clears the set's alarms so far
// (rejections and stream anomalies) until something new happens. Both are proofs in sealdrop's area.
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { standingProof, type ProofRecord } from '../../core/proofs.js';
import { formatS3Url, type S3Location } from '../../core/s3-url.js';
import { snapshotJson, type SnapshotJson } from '../../core/snapshot.js';
import { choose } from '../sets/choose.js';
import { backupSet } from '../sets/open.js';
import { readProofRecord, readProofs, writeAck, writeProof } from '../sets/proofs.js';

export interface ApproveResult {
  target: string;
  snapshot: SnapshotJson;
  /** What verify had said of it: rejected (and why), good, or nothing yet. */
  was: 'rejected' | 'good' | 'approved' | 'unproven';
  problem: string | null;
  approvedAt: string;
}

/** Records the admin's approval of one backup (by id): retention ranks it as good from now on. */
export async function approve(client: S3Client, location: S3Location, id: string): Promise<ApproveResult> {
  const set = backupSet(client, location);
  const { listing, snapshot } = await choose(set, { kind: 'id', id });
  if (snapshot.state !== 'complete')
    throw new SealdropError(
      'USAGE',
      `${snapshot.id} is not a complete backup (${snapshot.state}): nothing to approve`,
    );
  const proofs = await readProofs(set);
  const standing = standingProof(proofs, snapshot);
  // The sketch verify made of it carries over: the next backup is compared with this one.
  const record = standing ? await readProofRecord(set, proofs, standing) : null;
  const approvedAt = new Date();
  const approval: ProofRecord & { approved: true } = {
    v: 1,
    target: formatS3Url(location),
    snapshot: {
      kind: snapshot.kind,
      id: snapshot.id,
      time: snapshot.time.toISOString(),
      size: snapshot.size,
    },
    checkedAt: approvedAt.toISOString(),
    verdict: 'good',
    problem: null,
    hint: null,
    plainBytes: record?.plainBytes ?? 0,
    sketch: record?.sketch ?? null,
    continuity: record?.continuity ?? null,
    approved: true,
  };
  await writeProof(set, snapshot, 'approved', approval);
  return {
    target: listing.target,
    snapshot: snapshotJson(snapshot),
    was: standing ? (standing.kind === 'approved' ? 'approved' : standing.verdict) : 'unproven',
    problem: record?.problem ?? null,
    approvedAt: approvedAt.toISOString(),
  };
}

export interface AckResult {
  target: string;
  ackedAt: string;
}

/** Records that the admin knows the set's alarms so far: status clears them until something new happens. */
export async function ack(client: S3Client, location: S3Location): Promise<AckResult> {
  const set = backupSet(client, location);
  const ackedAt = new Date().toISOString();
  await writeAck(set, { v: 1, target: formatS3Url(location), ackedAt });
  return { target: formatS3Url(location), ackedAt };
}
