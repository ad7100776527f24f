// A run: the encrypted stream cut into consecutive parts (PREFIX<run-id>/part-000001 …), each spooled
// and POSTed while the next one is produced, then the manifest, last, once every part is stored.
// At most two parts are on disk at once: the one being uploaded and the one being written.
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { SealdropError } from '../core/errors.js';
import { MANIFEST_NAME, MAX_PARTS, newRunId, partName, runKey } from '../core/layout.js';
import { MANIFEST_FORMAT, type Manifest } from '../core/runs.js';
import { formatBytes } from '../core/units.js';
import { plural } from '../core/words.js';
import type { PushFacts, Sink, StoredObject } from './sink.js';
import { Spool } from './spool.js';
import { upload, type PostForm } from './upload.js';

const DEFAULT_PART_SIZE = 1024 ** 3;
/** Smaller parts only multiply requests; a typo like a part size of 8 should not make a million. */
const MIN_PART_SIZE = 1024 ** 2;

export interface RunSinkOptions {
  spoolDir: string;
  bucket: string;
  prefix: string;
  partSize: number;
  target: PostForm;
  now?: Date;
  onPart?: (part: StoredPart) => void;
}

export interface StoredPart {
  number: number;
  key: string;
  size: number;
  sha256: string;
  versionId: string | null;
}

export interface StoredRun extends StoredObject {
  runId: string;
  prefix: string;
  parts: StoredPart[];
  manifest: Manifest;
}

/** Checks a part size against the policy's limit; the default is 1 GiB or the limit if lower. */
export function choosePartSize(requested: number | undefined, maxSize: number): number {
  const size = requested ?? Math.min(DEFAULT_PART_SIZE, maxSize);
  if (size > maxSize)
    throw new SealdropError(
      'USAGE',
      `the part size ${formatBytes(size)} is over the policy's max size of ${formatBytes(maxSize)}`,
      { hint: 'Use a smaller --part-size, or mint the prefix policy with a larger --max-size.' },
    );
  if (!(Number.isSafeInteger(size) && size >= MIN_PART_SIZE))
    throw new SealdropError('USAGE', `the part size must be at least ${formatBytes(MIN_PART_SIZE)}`);
  return size;
}

export async function runSink(options: RunSinkOptions): Promise<Sink<StoredRun>> {
  const runId = newRunId(options.now ?? new Date(), randomBytes(3).toString('hex'));
  const key = (name: string) => runKey(options.prefix, runId, name);
  const whole = createHash('sha256');
  const spools = new Set<Spool>();
  const stored: StoredPart[] = [];
  let total = 0;
  let attempts = 0;
  let retriedMs = 0;
  let current: Spool | null = null;
  let numbered = 0;
  /** The upload of the previous full part, if any; a failure surfaces at the next hand-off. */
  let uploading: Promise<void> = Promise.resolve();
  /** The write being handled: an abort ends the pipeline without waiting for it, dispose() must. */
  let writing: Promise<void> = Promise.resolve();
  let disposed = false;

  const newSpool = async () => {
    if (disposed) throw new Error('the run was stopped');
    const spool = await Spool.create(options.spoolDir);
    spools.add(spool);
    return spool;
  };

  const store = async (spool: Spool, name: string) => {
    const result = await upload(options.target, spool, { key: key(name) });
    attempts += result.attempts;
    retriedMs += result.retriedMs;
    spools.delete(spool);
    await spool.remove();
    return result;
  };

  /** The current part is done: wait for the previous upload (two parts on disk at most), start this one. */
  const handOff = async () => {
    const spool = current!;
    current = null;
    const number = ++numbered;
    await spool.close();
    await uploading;
    uploading = store(spool, partName(number)).then((result) => {
      const part = {
        number,
        key: key(partName(number)),
        size: spool.bytes,
        sha256: spool.sha256,
        versionId: result.versionId,
      };
      stored.push(part);
      options.onPart?.(part);
    });
    // A part that can't be stored fails the run now, not after the next part has been produced.
    // Once the stream has ended, commit() awaits the upload and reports its failure instead.
    uploading.catch((error: unknown) => {
      if (!writable.writableEnded) writable.destroy(error as Error);
    });
  };

  const accept = async (chunk: Buffer) => {
    whole.update(chunk);
    total += chunk.length;
    while (chunk.length > 0) {
      if (!current) {
        if (numbered >= MAX_PARTS)
          throw new SealdropError('TOO_LARGE', `the backup needs more than ${MAX_PARTS} parts`, {
            hint: 'Use a larger --part-size.',
          });
        current = await newSpool();
      }
      const piece = chunk.subarray(0, options.partSize - current.bytes);
      chunk = chunk.subarray(piece.length);
      await current.write(piece);
      if (current.bytes === options.partSize) await handOff();
    }
  };

  const writable = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      writing = accept(chunk);
      writing.then(() => callback(), callback);
    },
  });

  return {
    binding: `s3://${options.bucket}/${key('')}`,
    writable,
    async commit(facts: PushFacts): Promise<StoredRun> {
      if (current) await handOff();
      await uploading;
      const finishedAt = new Date();
      const manifest: Manifest = {
        sealdropRun: MANIFEST_FORMAT,
        runId,
        prefix: options.prefix,
        parts: stored.map(({ key: partKey, size, sha256 }) => ({ key: partKey, size, sha256 })),
        totalBytes: total,
        sha256: whole.digest('hex'),
        bytesIn: facts.bytesIn,
        compression: facts.compression,
        partSize: options.partSize,
        startedAt: facts.startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        seconds: (finishedAt.getTime() - facts.startedAt.getTime()) / 1000,
      };
      const spool = await newSpool();
      await spool.write(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
      await spool.close();
      const result = await store(spool, MANIFEST_NAME);
      return {
        key: key(MANIFEST_NAME),
        versionId: result.versionId,
        etag: result.etag,
        bytes: total,
        sha256: manifest.sha256,
        attempts,
        retriedMs,
        runId,
        prefix: options.prefix,
        parts: stored,
        manifest,
      };
    },
    async settle() {
      await uploading.catch(() => {});
      if (stored.length === 0) return null;
      const names = stored.map((p) => partName(p.number));
      const span = names.length === 1 ? names[0] : `${names[0]} … ${names[names.length - 1]}`;
      return `${plural(stored.length, 'part was', 'parts were')} stored (${span}) and remain${stored.length === 1 ? 's' : ''} as the INCOMPLETE run ${key('')} (no manifest: restore, status and prune treat it as incomplete)`;
    },
    async dispose() {
      disposed = true;
      await writing.catch(() => {});
      await uploading.catch(() => {});
      await Promise.all([...spools].map((spool) => spool.remove()));
    },
  };
}
