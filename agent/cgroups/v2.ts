/**
 * cgroup v2 (unified): one hierarchy; controllers are enabled per level through
 * `cgroup.subtree_control`. Keys arrive in v1 form and are translated (`v2-keys.ts`), so
 * isolators are written once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import type { CgroupDriver, Controller } from '../../isolators/cgroup-driver.js';
import { translateV1Read, translateV1Write } from './v2-keys.js';

export { sharesToWeight } from './v2-keys.js';

/** v2 controller behind each v1 controller name (freezer is built into v2). */
const V2_CONTROLLER: Record<Controller, string | undefined> = {
  cpu: 'cpu',
  cpuacct: 'cpu',
  memory: 'memory',
  pids: 'pids',
  blkio: 'io',
  freezer: undefined,
};

/** v2 files where each write sets one key (a device's limits) and keeps the rest. */
const KEYED = new Set(['io.max']);

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
    const writes = await translateV1Write(key, value, (file) => this.read(dir, file).catch(() => undefined));
    for (const { file, content } of writes) {
      try {
        // A keyed file (io.max) takes one key per write and keeps the others: append, as the
        // kernel's semantics are (a plain file, in tests, then shows every write).
        if (KEYED.has(file)) await appendFile(join(dir, file), `${content}\n`);
        else await writeFile(join(dir, file), content);
      } catch (error) {
        throw new GalaxyError(
          'GALAXY_E_LAUNCH_FAILED',
          `cannot write ${content} to ${path}/${file} (for ${key}): ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }

  async get(_controller: Controller, path: string, key: string): Promise<string> {
    const dir = this.dir(path);
    return (await translateV1Read(key, (file) => this.read(dir, file).catch(() => undefined))) ?? this.read(dir, key);
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

  private async read(dir: string, file: string): Promise<string> {
    return (await readFile(join(dir, file), 'utf8')).trim();
  }
}
