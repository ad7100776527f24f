// Reading a fleet file from disk: its hosts alone (what status, prune and ls need), or with every
// recipient key file it names read and checked (mint, publish, report).
import { readTextFile } from './files.js';
import { fleetInvalid, parseFleet, type Fleet } from './fleet.js';
import { readRecipient } from './openpgp-keys.js';

export interface RecipientKey {
  armored: string;
  fingerprint: string;
}

export interface LoadedFleet extends Fleet {
  /** Every recipient file, read and checked, by resolved path. */
  keys: Map<string, RecipientKey>;
}

/** Reads and validates a fleet file, not its key files: the read side (status, prune, ls) needs only the hosts. */
export async function readFleet(path: string): Promise<Fleet> {
  return parseFleet(await readTextFile(path, 'fleet file'), path);
}

/** Reads and validates a fleet file and every recipient key it names. */
export async function loadFleet(path: string): Promise<LoadedFleet> {
  const fleet = await readFleet(path);
  const keys = new Map<string, RecipientKey>();
  const problems: string[] = [];
  // Each file once, and a problem names the hosts whose list holds it (all of them: the fleet's own list).
  const users = new Map<string, string[]>();
  for (const host of fleet.hosts)
    for (const file of host.recipients) {
      const names = users.get(file) ?? [];
      names.push(host.name);
      users.set(file, names);
    }
  for (const [file, names] of users) {
    try {
      const key = await readRecipient(await readTextFile(file, 'recipient key'), file);
      keys.set(file, { armored: key.armor(), fingerprint: key.getFingerprint().toUpperCase() });
    } catch (error) {
      keys.set(file, { armored: '', fingerprint: '' });
      const whose =
        names.length === fleet.hosts.length && names.length > 1
          ? 'every host'
          : `host${names.length > 1 ? 's' : ''} ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
      const line = fleet.recipientLine(file);
      problems.push(`${path}${line === null ? '' : `:${line}`}: ${whose}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw fleetInvalid(path, problems);
  return { ...fleet, keys };
}
