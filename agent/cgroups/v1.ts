/**
 * cgroup v1: one hierarchy per controller under `/sys/fs/cgroup/<controller>`. This is what the
 * machines Galaxy is tested on have (cpu, cpuacct, memory, pids, blkio, freezer all mounted).
 *
 * A control file of cgroupfs is kernel memory: reading or writing one never waits for a disk and
 * takes microseconds, so those are made synchronously (an asynchronous call costs a hop to libuv's
 * thread pool and back, milliseconds each on a loaded machine, and a container's launch and end
 * make a dozen on the critical path). Making a group is synchronous too: it is on every launch's
 * critical path (a fraction of a millisecond per controller measured here, where five hops to
 * the thread pool took 100 ms under load, queued behind checkpoint fsyncs). Removing one stays
 * asynchronous: rmdir waits for the kernel to tear down the group's last task, and the
 * containerizer removes groups after the task's end is reported, off the critical path.
 */
/* eslint-disable @typescript-eslint/require-await -- async for the driver's interface: a failure is a rejection, as callers expect */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import type { CgroupDriver, Controller } from '../../isolators/cgroup-driver.js';

/** Waits `ms` milliseconds. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cgroup v1 driver. */
export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1;

  /** @param mount where the controller hierarchies are mounted (default `/sys/fs/cgroup`) */
  constructor(private readonly mount = '/sys/fs/cgroup') {}

  available(controller: Controller): boolean {
    return existsSync(join(this.mount, controller, 'cgroup.procs'));
  }

  private dir(controller: Controller, path: string): string {
    if (path.split('/').some((p) => p === '..'))
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `cgroup path "${path}" escapes its root`);
    return join(this.mount, controller, path);
  }

  async create(path: string, controllers: readonly Controller[]): Promise<void> {
    for (const controller of controllers) mkdirSync(this.dir(controller, path), { recursive: true });
  }

  async set(controller: Controller, path: string, key: string, value: string): Promise<void> {
    try {
      writeFileSync(join(this.dir(controller, path), key), value);
    } catch (error) {
      throw new GalaxyError(
        'GALAXY_E_LAUNCH_FAILED',
        `cannot write ${value} to ${controller}:${path}/${key}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async get(controller: Controller, path: string, key: string): Promise<string> {
    return readFileSync(join(this.dir(controller, path), key), 'utf8').trim();
  }

  procsFiles(path: string, controllers: readonly Controller[]): string[] {
    return controllers.map((c) => join(this.dir(c, path), 'cgroup.procs'));
  }

  async pids(controller: Controller, path: string): Promise<number[]> {
    try {
      return (await this.get(controller, path, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  async freeze(path: string, frozen: boolean): Promise<void> {
    if (!this.exists('freezer', path)) return;
    await this.set('freezer', path, 'freezer.state', frozen ? 'FROZEN' : 'THAWED');
    // Freezing is asynchronous in v1: wait until the state settles.
    for (let i = 0; i < 100; i++) {
      const state = await this.get('freezer', path, 'freezer.state');
      if (state === (frozen ? 'FROZEN' : 'THAWED')) return;
      await sleep(5);
    }
  }

  async remove(path: string, controllers: readonly Controller[]): Promise<void> {
    for (const controller of controllers) {
      const dir = this.dir(controller, path);
      // A container's group is a leaf: one rmdir. A group with groups under it is busy: those first.
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          const children = code === 'EBUSY' ? await this.childrenOf(dir) : [];
          for (const child of children) await this.remove(join(path, child), [controller]);
          if (children.length > 0) continue;
          // rmdir fails with EBUSY while the last exiting task is still being torn down.
          if (attempt >= 200)
            throw new GalaxyError(
              'GALAXY_E_INTERNAL',
              `cannot remove cgroup ${controller}:${path}: ${code ?? String(error)}`,
            );
          await sleep(10);
        }
      }
    }
  }

  async children(path: string): Promise<string[]> {
    const controller = (['freezer', 'memory', 'cpu', 'pids'] as const).find((c) => this.exists(c, path));
    return controller ? this.childrenOf(this.dir(controller, path)) : [];
  }

  exists(controller: Controller, path: string): boolean {
    return existsSync(this.dir(controller, path));
  }

  private async childrenOf(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }
}
