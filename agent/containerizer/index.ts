/**
 * Chooses the launcher from the agent's flags: plain processes, or Linux containers with the
 * isolators named by `--isolation`.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { checkId } from '../../core/validate.js';
import { loadIsolators } from '../../isolators/index.js';
import { detectCgroupDriver } from '../cgroups/index.js';
import type { Launcher } from '../launcher.js';
import { ProcessLauncher } from '../process-launcher.js';
import { LinuxLauncher } from './linux-launcher.js';

export { LinuxLauncher } from './linux-launcher.js';

/** What decides the launcher. */
export interface ContainerizerOptions {
  readonly workDir: string;
  /** `cpu,memory,pids,…` (built-in names or module paths); empty = plain processes. */
  readonly isolation?: string;
  /** This agent's cgroup root; default `galaxy-<hash of the work dir>`, stable across restarts. */
  readonly cgroupRoot?: string;
  readonly log: Logger;
}

/** Default cgroup root of an agent: derived from its work dir so two agents never share one. */
export function defaultCgroupRoot(workDir: string): string {
  return `galaxy-${createHash('sha256').update(resolve(workDir)).digest('hex').slice(0, 12)}`;
}

/** Builds the launcher. The agent sweeps orphans once it has re-attached to what it checkpointed. */
export async function createLauncher(options: ContainerizerOptions): Promise<Launcher> {
  const isolation = options.isolation?.trim() ?? '';
  if (isolation === '') return new ProcessLauncher();
  const cgroupRoot = options.cgroupRoot ?? defaultCgroupRoot(options.workDir);
  for (const segment of cgroupRoot.split('/')) checkId(segment, '--cgroup-root');
  const driver = detectCgroupDriver();
  const isolators = await loadIsolators(isolation, { driver, root: cgroupRoot, workDir: resolve(options.workDir) });
  return new LinuxLauncher({ driver, cgroupRoot, isolators, log: options.log });
}
