/**
 * Chooses the launcher from the agent's flags: plain processes, or Linux containers with the
 * isolators named by `--isolation`.
 */
import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { GalaxyError } from '../../core/errors.js';
import { isUnder } from '../../core/host-paths.js';
import { resolve } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { parseSize } from '../../core/sizes.js';
import { checkId } from '../../core/validate.js';
import { loadIsolators } from '../../isolators/index.js';
import { detectCgroupDriver } from '../cgroups/index.js';
import type { Launcher } from '../launcher.js';
import { ProcessLauncher } from '../process-launcher.js';
import { LinuxLauncher } from './linux-launcher.js';
import { parseUidRange } from './uid-blocks.js';
import type { HostPath } from '../../proto/gen/galaxy/v1/common.js';
import type { AgentHooks } from '../hooks.js';
import type { LogRotation } from '../../core/task-logs.js';
import type { DiskEntry } from '../../core/disks.js';

export { LinuxLauncher } from './linux-launcher.js';

/** What decides the launcher. */
export interface ContainerizerOptions {
  readonly workDir: string;
  /** Where bind volumes may come from (parsed `--allowed-host-paths`). */
  readonly allowedHostPaths?: readonly HostPath[];
  /** The agent's named disks (`--disks`, checked): where DISK volumes are made. */
  readonly disks?: readonly DiskEntry[];
  /** Host uids of the containers' user namespaces (`--uid-range FIRST[:COUNT]`). */
  readonly uidRange?: string;
  /** Size of the cache of root filesystem images (`--image-cache`, e.g. `8GiB`). */
  readonly imageCache?: string;
  /** `cpu,memory,pids,…` (built-in names or module paths); empty = plain processes. */
  readonly isolation?: string;
  /** This agent's cgroup root; default `galaxy-<hash of the work dir>`, stable across restarts. */
  readonly cgroupRoot?: string;
  /** How containers' output is rotated (`--log-max-size`, `--log-max-files`). */
  readonly logRotation?: LogRotation;
  /** Containers set up at once (`--launch-concurrency`; default twice the cores). */
  readonly launchConcurrency?: number;
  /** The agent's hooks: a Linux launcher runs its isolators through them. */
  readonly hooks?: AgentHooks;
  readonly log: Logger;
}

/** Host directories a work dir must not be in: the containers' system binds and the kernel's. */
const SYSTEM = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/proc', '/sys', '/dev'];

/** Refuses a work dir in a system directory: sandboxes appear at their host paths in containers. */
function checkWorkDir(workDir: string): void {
  const system = SYSTEM.find((dir) => isUnder(workDir, dir));
  if (workDir === '/' || system !== undefined)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `--work-dir ${workDir} is ${system === undefined ? 'the root' : `under ${system}`}; containers need it elsewhere, e.g. /var/lib/galaxy/agent`,
    );
}

/** Default cgroup root of an agent: derived from its work dir so two agents never share one. */
export function defaultCgroupRoot(workDir: string): string {
  return `galaxy-${createHash('sha256').update(resolve(workDir)).digest('hex').slice(0, 12)}`;
}

/** Builds the launcher. The agent sweeps orphans once it has re-attached to what it checkpointed. */
export async function createLauncher(options: ContainerizerOptions): Promise<Launcher> {
  const isolation = options.isolation?.trim() ?? '';
  if (isolation === '') return new ProcessLauncher();
  // Checked before the isolators load, so a bad flag changes nothing.
  parseUidRange(options.uidRange);
  const imageCacheBytes = options.imageCache === undefined ? undefined : parseSize(options.imageCache, '--image-cache');
  checkWorkDir(await realpath(options.workDir));
  const cgroupRoot = options.cgroupRoot ?? defaultCgroupRoot(options.workDir);
  for (const segment of cgroupRoot.split('/')) checkId(segment, '--cgroup-root');
  const driver = detectCgroupDriver();
  const isolators = await loadIsolators(isolation, { driver, root: cgroupRoot, workDir: resolve(options.workDir) });
  return new LinuxLauncher({
    driver,
    cgroupRoot,
    isolators,
    workDir: options.workDir,
    allowedHostPaths: options.allowedHostPaths,
    ...(options.disks ? { disks: options.disks } : {}),
    uidRange: parseUidRange(options.uidRange),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    imageCacheBytes,
    ...(options.logRotation ? { logRotation: options.logRotation } : {}),
    ...(options.launchConcurrency ? { launchConcurrency: options.launchConcurrency } : {}),
    log: options.log,
  });
}
