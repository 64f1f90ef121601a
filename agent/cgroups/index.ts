/**
 * Cgroup drivers and the detection of which one this machine needs.
 */
import { existsSync } from 'node:fs';
import { GalaxyError } from '../../core/errors.js';
import type { CgroupDriver } from '../../isolators/cgroup-driver.js';
import { CgroupV1Driver } from './v1.js';
import { CgroupV2Driver } from './v2.js';

export * from '../../isolators/cgroup-driver.js';
export { CgroupV1Driver } from './v1.js';
export { CgroupV2Driver } from './v2.js';

/** The driver for this machine: v1 when controllers are mounted separately, else v2 (unified). */
export function detectCgroupDriver(mount = '/sys/fs/cgroup'): CgroupDriver {
  if (existsSync(`${mount}/memory/cgroup.procs`)) return new CgroupV1Driver(mount);
  if (existsSync(`${mount}/cgroup.controllers`)) return new CgroupV2Driver(mount);
  throw new GalaxyError(
    'GALAXY_E_INVALID_ARGUMENT',
    `no cgroup hierarchy found under ${mount}; run without --isolation`,
  );
}
