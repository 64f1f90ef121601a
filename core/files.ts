/**
 * File helpers shared by the agent's checkpoints and the local coordinator.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `content` to `path` atomically: a reader sees the old file or the new one, never half.
 * With `private`, the file is mode 0600 and directories made for it 0700 (checkpoints).
 */
export async function writeAtomic(path: string, content: string, options: { private?: boolean } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, ...(options.private ? { mode: 0o700 } : {}) });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, options.private ? { mode: 0o600 } : {});
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
