// Content continuity: a backup that decrypted is good only if it continues the content of the good
// backup before it. Junk of the right size, encrypted data and a ransomware-encrypted database share
// nothing with a dump; a real dump after a night of changes keeps most of its chunks (core/sketch.ts).
import { isSealdropError, type ErrorCode } from '../../core/errors.js';
import { overlap, sketchedChunks, type Sketch } from '../../core/sketch.js';

/** The good backup before one: what it restored to, and its content sketch (null: none to be had). */
export interface Previous {
  id: string;
  sketch: Sketch | null;
  plainBytes: number;
  /** Why there is no sketch: it could not be read again to make one. */
  unread?: string;
}

/** What a verdict on continuity changes of a check (verify's SnapshotCheck). */
export interface ContinuityJudged {
  ok: boolean;
  code: ErrorCode | null;
  problem: string | null;
  hint: string | null;
  warnings: string[];
  continuity: { against: string; overlap: number } | null;
}

/** Content of fewer chunks than this (about 4 KiB), on both sides, is too small to compare. */
const MIN_CHUNKS = 16;

/**
 * Judges a check that decrypted against the good backup before it (null: there is none, the first):
 * under `minOverlap` it fails as bad; with nothing to compare it with, it fails as not checked (not
 * compared is not proven: it stays unproven, and is tried again next time). `approve` is the command
 * that makes it good, for the hint.
 */
export function judgeContinuity(
  check: ContinuityJudged,
  before: Previous | null,
  sketch: Sketch,
  { minOverlap, approve }: { minOverlap: number; approve: string },
): void {
  if (!before) return;
  const previous = before.sketch;
  if (!previous) {
    Object.assign(check, {
      ok: false,
      code: 'FAILED',
      problem: `its content can't be compared with the good backup before it (${before.id}): ${before.unread}`,
      hint: `Approve it if it is genuine, or verify ${before.id} again when it can be read.`,
    });
    return;
  }
  if (Math.max(sketchedChunks(sketch), sketchedChunks(previous)) < MIN_CHUNKS) {
    check.warnings.push(`content continuity not judged: it and ${before.id} are too small to compare`);
    return;
  }
  let shared: number;
  try {
    shared = overlap(sketch, previous);
  } catch (error) {
    // Made with another sketch key (a bucket's key replaced by hand): nothing to compare with.
    if (!isSealdropError(error) || error.code !== 'SKETCH_INVALID') throw error;
    check.warnings.push(`content continuity not checked against ${before.id}: ${error.message}`);
    return;
  }
  check.continuity = { against: before.id, overlap: Math.round(shared * 1000) / 1000 };
  if (shared >= minOverlap) return;
  Object.assign(check, {
    ok: false,
    code: 'INTEGRITY',
    problem: `its content overlaps the good backup before it (${before.id}) by ${percent(shared)}, under the ${percent(minOverlap)} a genuine backup keeps: junk, encrypted data, or a very large real change`,
    hint: `If it is genuine, approve it: ${approve}. Else find out who pushed it: that host may be compromised.`,
  });
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
