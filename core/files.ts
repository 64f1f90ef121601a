/**
 * File helpers shared by the agent's checkpoints and the local coordinator.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How {@link writeAtomic} writes. */
export interface WriteOptions {
  /** For the owner's eyes only: the file is made 0600, the directories made for it 0700. */
  readonly ownerOnly?: boolean;
}

/** Writes `content` to `path` atomically: a reader sees the old file or the new one, never half. */
export async function writeAtomic(path: string, content: string, options: WriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, ...(options.ownerOnly ? { mode: 0o700 } : {}) });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, options.ownerOnly ? { mode: 0o600 } : {});
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
