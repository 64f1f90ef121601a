/**
 * cgroup v2 (unified): one hierarchy; controllers are enabled per level through
 * `cgroup.subtree_control`. Keys arrive in v1 form and are translated here, so isolators are
 * written once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import type { CgroupDriver, Controller } from './driver.js';

/** v2 controller behind each v1 controller name (freezer is built into v2). */
const V2_CONTROLLER: Record<Controller, string | undefined> = {
  cpu: 'cpu',
  cpuacct: 'cpu',
  memory: 'memory',
  pids: 'pids',
  blkio: 'io',
  freezer: undefined,
};

/** Converts v1 `cpu.shares` (2..262144, default 1024) to v2 `cpu.weight` (1..10000, default 100). */
export function sharesToWeight(shares: number): number {
  const clamped = Math.min(262_144, Math.max(2, shares));
  return 1 + Math.floor(((clamped - 2) * 9999) / 262_142);
}

/** The cgroup v2 driver. */
export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2;

  /** @param mount the unified hierarchy's mount point (default `/sys/fs/cgroup`) */
  constructor(private readonly mount = '/sys/fs/cgroup') {}

  available(controller: Controller): boolean {
    const name = V2_CONTROLLER[controller];
    if (name === undefined) return existsSync(join(this.mount, 'cgroup.procs'));
    try {
      return readFileSync(join(this.mount, 'cgroup.controllers'), 'utf8').split(/\s+/).includes(name);
    } catch {
      return false;
    }
  }

  private dir(path: string): string {
    if (path.split('/').some((p) => p === '..'))
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `cgroup path "${path}" escapes its root`);
    return join(this.mount, path);
  }

  async create(path: string, controllers: readonly Controller[]): Promise<void> {
    const wanted = [...new Set(controllers.map((c) => V2_CONTROLLER[c]).filter((c): c is string => c !== undefined))];
    const parts = path.split('/').filter(Boolean);
    // Every ancestor must delegate the controllers to its children.
    for (let i = 0; i < parts.length; i++) {
      const parent = this.dir(parts.slice(0, i).join('/'));
      if (wanted.length > 0)
        await appendFile(join(parent, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
      await mkdir(join(parent, parts[i] ?? ''), { recursive: true });
    }
  }

  async set(_controller: Controller, path: string, key: string, value: string): Promise<void> {
    const dir = this.dir(path);
    const write = async (file: string, content: string): Promise<void> => {
      try {
        await writeFile(join(dir, file), content);
      } catch (error) {
        throw new GalaxyError(
          'GALAXY_E_LAUNCH_FAILED',
          `cannot write ${content} to ${path}/${file}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    };
    switch (key) {
      case 'cpu.shares':
        return write('cpu.weight', String(sharesToWeight(Number(value))));
      case 'cpu.cfs_quota_us': {
        const [, period = '100000'] = (await this.read(dir, 'cpu.max', 'max 100000')).split(' ');
        return write('cpu.max', `${Number(value) < 0 ? 'max' : value} ${period}`);
      }
      case 'cpu.cfs_period_us': {
        const [quota = 'max'] = (await this.read(dir, 'cpu.max', 'max 100000')).split(' ');
        return write('cpu.max', `${quota} ${value}`);
      }
      case 'memory.limit_in_bytes':
        return write('memory.max', Number(value) < 0 ? 'max' : value);
      case 'memory.soft_limit_in_bytes':
        return write('memory.low', value);
      case 'blkio.weight':
        return write('io.weight', `default ${value}`);
      case 'freezer.state':
        return write('cgroup.freeze', value === 'FROZEN' ? '1' : '0');
      default:
        return write(key, value);
    }
  }

  async get(_controller: Controller, path: string, key: string): Promise<string> {
    const dir = this.dir(path);
    switch (key) {
      case 'memory.usage_in_bytes':
        return this.read(dir, 'memory.current');
      case 'memory.max_usage_in_bytes':
        return this.read(dir, 'memory.peak');
      case 'memory.limit_in_bytes': {
        const max = await this.read(dir, 'memory.max');
        return max === 'max' ? String(Number.MAX_SAFE_INTEGER) : max;
      }
      case 'cpuacct.usage': {
        const usec = /usage_usec (\d+)/.exec(await this.read(dir, 'cpu.stat'))?.[1] ?? '0';
        return String(Number(usec) * 1000);
      }
      case 'memory.oom_control': {
        const kills = /oom_kill (\d+)/.exec(await this.read(dir, 'memory.events'))?.[1] ?? '0';
        return `oom_kill_disable 0\nunder_oom 0\noom_kill ${kills}`;
      }
      case 'freezer.state':
        return (await this.read(dir, 'cgroup.freeze')) === '1' ? 'FROZEN' : 'THAWED';
      default:
        return this.read(dir, key);
    }
  }

  procsFiles(path: string): string[] {
    return [join(this.dir(path), 'cgroup.procs')];
  }

  async pids(_controller: Controller, path: string): Promise<number[]> {
    try {
      return (await this.read(this.dir(path), 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  async freeze(path: string, frozen: boolean): Promise<void> {
    if (existsSync(this.dir(path))) await this.set('freezer', path, 'freezer.state', frozen ? 'FROZEN' : 'THAWED');
  }

  async remove(path: string): Promise<void> {
    const dir = this.dir(path);
    if (!existsSync(dir)) return;
    for (const child of await this.children(path)) await this.remove(join(path, child));
    try {
      await rmdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new GalaxyError('GALAXY_E_INTERNAL', `cannot remove cgroup ${path}: ${(error as Error).message}`);
    }
  }

  async children(path: string): Promise<string[]> {
    try {
      return (await readdir(this.dir(path), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }

  exists(_controller: Controller, path: string): boolean {
    return existsSync(this.dir(path));
  }

  private async read(dir: string, file: string, fallback?: string): Promise<string> {
    try {
      return (await readFile(join(dir, file), 'utf8')).trim();
    } catch (error) {
      if (fallback !== undefined) return fallback;
      throw error;
    }
  }
}
