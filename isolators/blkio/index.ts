/**
 * The `blkio` isolator: a proportional weight on the disk, and read/write bandwidth and IOPS
 * throttles on the block device behind the sandbox.
 */
import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { sharedIsolator, type Container, type ContainerUsage, type Isolator } from '../isolator.js';

/**
 * `major:minor` of the whole disk that holds `path`. Throttles apply to disks, so a partition
 * is mapped to its parent (via /sys/dev/block).
 */
export async function diskOf(path: string): Promise<string> {
  const { dev } = await stat(path);
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const id = `${major}:${minor}`;
  const sys = `/sys/dev/block/${id}`;
  if (existsSync(`${sys}/partition`) && existsSync(`${sys}/../dev`))
    return readFileSync(`${sys}/../dev`, 'utf8').trim();
  return id;
}

const THROTTLES = [
  ['readBps', 'blkio.throttle.read_bps_device'],
  ['writeBps', 'blkio.throttle.write_bps_device'],
  ['readIops', 'blkio.throttle.read_iops_device'],
  ['writeIops', 'blkio.throttle.write_iops_device'],
] as const;

const isolator: Isolator = {
  name: 'blkio',
  controllers: ['blkio'],
  async prepare(c: Container) {
    if (c.limits.blkioWeight > 0) await c.driver.set('blkio', c.cgroup, 'blkio.weight', String(c.limits.blkioWeight));
    const throttles = THROTTLES.filter(([field]) => c.limits[field] > 0);
    if (throttles.length === 0) return;
    const device = await diskOf(c.sandbox);
    for (const [field, file] of throttles) await c.driver.set('blkio', c.cgroup, file, `${device} ${c.limits[field]}`);
  },
  async usage(c: Container): Promise<ContainerUsage> {
    const bytes = await c.driver.get('blkio', c.cgroup, 'blkio.throttle.io_service_bytes').catch(() => '');
    const sum = (op: string) =>
      [...bytes.matchAll(new RegExp(`^\\S+ ${op} (\\d+)$`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
    return { diskReadBytes: sum('Read'), diskWriteBytes: sum('Write') };
  },
};

/** The plugin. */
export const plugin = sharedIsolator(isolator);
export default plugin;
