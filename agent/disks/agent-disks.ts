/**
 * The agent's named disks (`galaxy agent --disks`): parsed by core/disks.ts, then checked on this
 * machine — each path must exist, be a directory and be its own real path — before anything is
 * made. The paths stay on the agent; the master sees names, media and sizes.
 */
import { realpath, stat } from 'node:fs/promises';
import { GalaxyError } from '../../core/errors.js';
import { isUnder } from '../../core/host-paths.js';
import { parseDisks, type DiskEntry } from '../../core/disks.js';

/** A disk of this agent: its resource and the real directory its volumes are made in. */
export type AgentDisk = DiskEntry;

/**
 * Parses and checks `--disks` for an agent working in `workDir`. Throws `GALAXY_E_DISK_INVALID`
 * (nothing made) when an entry is malformed, a path is missing, not a directory, a link, or is
 * or holds the work dir.
 */
export async function resolveAgentDisks(spec: string, workDir: string): Promise<AgentDisk[]> {
  const disks = parseDisks(spec);
  const work = await realpath(workDir);
  for (const { resource, path } of disks) {
    const where = `--disks: disk "${resource.name}"`;
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new GalaxyError('GALAXY_E_DISK_INVALID', `${where}: ${path} does not exist`);
    if (!info.isDirectory()) throw new GalaxyError('GALAXY_E_DISK_INVALID', `${where}: ${path} is not a directory`);
    const real = await realpath(path);
    if (real !== path)
      throw new GalaxyError('GALAXY_E_DISK_INVALID', `${where}: ${path} is a link to ${real}; name the real path`);
    if (isUnder(work, path) || isUnder(path, work))
      throw new GalaxyError('GALAXY_E_DISK_INVALID', `${where}: ${path} holds or is inside the agent's work dir`);
  }
  return disks;
}
