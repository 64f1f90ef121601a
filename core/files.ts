/**
 * File helpers shared by the agent's checkpoints and the local coordinator.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `content` to `path` atomically: a reader sees the old file or the new one, never half.
 * `mode` is the new file's permission bits (a secret's 0600), set before any content is written.
 */
export async function writeAtomic(path: string, content: string, options: { mode?: number } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, options.mode === undefined ? {} : { mode: options.mode });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
