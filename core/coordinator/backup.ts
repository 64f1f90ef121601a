/**
 * Backing up and restoring Galaxy's durable state (`galaxy coordinator backup|restore`): every
 * key under `/galaxy` and its value, read through the {@link Coordinator} interface, so a backup
 * taken from one backend restores into any other (local → ZooKeeper, or under a new cluster
 * secret: values are written through the target's own sealing). Elections are left out: their
 * keys are ephemeral, held by live processes, and are remade when the daemons start.
 *
 * A backup holds users' and agents' token hashes (never tokens) and every job spec: it is written
 * for its owner's eyes only (0600). Restore is for an empty coordinator, with the daemons stopped.
 */
import { GalaxyError } from '../errors.js';
import type { Coordinator } from './coordinator.js';
import { isUnder, joinKey } from './keys.js';

/** The first line's `format`: what {@link parseBackup} reads. */
export const BACKUP_FORMAT = 'galaxy-coordinator-backup/1';
/** Where all of Galaxy's state lives. */
export const STATE_ROOT = '/galaxy';
/** Ephemeral keys (candidates of leader elections): never backed up, never restored. */
export const EPHEMERAL_ROOTS: readonly string[] = ['/galaxy/election'];

/** One key and its value. */
export interface BackupEntry {
  readonly key: string;
  readonly value: string;
}

/** A backup: where it came from, when, and every key. */
export interface Backup {
  readonly format: typeof BACKUP_FORMAT;
  readonly createdAt: string;
  /** The coordinator it was read from (its description: no secret). */
  readonly source: string;
  readonly entries: readonly BackupEntry[];
}

const ephemeral = (key: string): boolean => EPHEMERAL_ROOTS.some((root) => isUnder(key, root));

/** Every durable key under `root` with its value, parents before children, siblings sorted. */
export async function readState(coordinator: Coordinator, root = STATE_ROOT): Promise<BackupEntry[]> {
  const entries: BackupEntry[] = [];
  const visit = async (key: string): Promise<void> => {
    if (ephemeral(key)) return;
    const value = await coordinator.get(key);
    if (value !== undefined) entries.push({ key, value: value.value });
    for (const child of await coordinator.list(key)) await visit(joinKey(key, child));
  };
  await visit(root);
  return entries;
}

/** Takes a backup of `coordinator`. */
export async function backup(coordinator: Coordinator, now: () => Date = () => new Date()): Promise<Backup> {
  return {
    format: BACKUP_FORMAT,
    createdAt: now().toISOString(),
    source: coordinator.description,
    entries: await readState(coordinator),
  };
}

/** A backup as text: JSON lines, the header first, then one key per line (diffable, streamable). */
export function formatBackup(taken: Backup): string {
  const header = { format: taken.format, createdAt: taken.createdAt, source: taken.source, keys: taken.entries.length };
  return [JSON.stringify(header), ...taken.entries.map((e) => JSON.stringify(e))].join('\n') + '\n';
}

function invalid(where: string, why: string): GalaxyError {
  return new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where} is not a Galaxy coordinator backup: ${why}`);
}

/** Reads {@link formatBackup}'s text back, checking every line; `where` names the file in errors. */
export function parseBackup(text: string, where: string): Backup {
  const lines = text.split('\n').filter((line) => line !== '');
  const parse = (line: string, n: number): unknown => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw invalid(where, `line ${n} is not JSON`);
    }
  };
  const header = parse(lines[0] ?? '', 1) as Partial<{
    format: string;
    createdAt: string;
    source: string;
    keys: number;
  }>;
  if (header.format !== BACKUP_FORMAT) throw invalid(where, `line 1 does not name format ${BACKUP_FORMAT}`);
  const entries = lines.slice(1).map((line, i) => {
    const entry = parse(line, i + 2) as Partial<BackupEntry>;
    if (typeof entry.key !== 'string' || typeof entry.value !== 'string')
      throw invalid(where, `line ${i + 2} is not {"key", "value"}`);
    if (!isUnder(entry.key, STATE_ROOT) || ephemeral(entry.key))
      throw invalid(where, `line ${i + 2} holds key ${entry.key.slice(0, 80)}, outside Galaxy's durable state`);
    return { key: entry.key, value: entry.value };
  });
  if (header.keys !== entries.length)
    throw invalid(where, `the header counts ${String(header.keys)} keys but ${entries.length} follow (a torn file?)`);
  return {
    format: BACKUP_FORMAT,
    createdAt: String(header.createdAt),
    source: String(header.source),
    entries,
  };
}

/**
 * Writes a backup's keys into `coordinator`. Refused (nothing written) when the target already
 * holds durable state, unless `replace`: then what the backup does not hold is deleted first.
 */
export async function restore(
  coordinator: Coordinator,
  taken: Backup,
  options: { replace?: boolean } = {},
): Promise<number> {
  const present = await readState(coordinator);
  if (present.length > 0 && options.replace !== true)
    throw new GalaxyError(
      'GALAXY_E_COORD_EXISTS',
      `${coordinator.description} already holds ${present.length} keys of Galaxy's state; restore into an empty coordinator, or pass --replace (with every daemon stopped)`,
    );
  const keep = new Set(taken.entries.map((e) => e.key));
  // Deepest first, so no parent is deleted before its children are checked.
  for (const { key } of [...present].reverse()) if (!keep.has(key)) await coordinator.delete(key, { recursive: true });
  for (const entry of taken.entries) await coordinator.put(entry.key, entry.value);
  return taken.entries.length;
}
