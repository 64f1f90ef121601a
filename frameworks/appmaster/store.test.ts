/**
 * A submit stores the job before it exists anywhere else: when the store fails the submit fails,
 * and nothing of the job is left (no job, no key, no quota claim), so the same submit can be made
 * again. A job whose record would not fit one coordinator key is refused at submit, naming the
 * limit, before anything is claimed. A record an older AppMaster stored, its update's pause as a
 * flag and a text, is read with a typed pause and shown as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_VALUE_BYTES } from '../../core/coordinator/coordinator.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { GalaxyError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { QuotaStore } from '../../core/tenancy/quotas.js';
import { AppMaster } from './appmaster.js';
import type { JobRecord } from './model.js';
import { JOBS_PREFIX, JobStore } from './store.js';

/** A coordinator whose job writes fail while `failing` is set, as a full disk or a lost session would. */
class FailingJobs extends MemoryCoordinator {
  failing = false;

  override put(key: string, value: string, options?: { expectedVersion?: number }): Promise<number> {
    if (this.failing && key.startsWith(JOBS_PREFIX))
      return Promise.reject(new GalaxyError('GALAXY_E_COORD_UNAVAILABLE', 'the disk is full'));
    return super.put(key, value, options);
  }
}

const spec = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    name: 'web',
    replicas: 2,
    resources: { cpu: { millicores: '100m' }, memory: { hard: '64Mi' } },
    package: { source: 'file:///pkg/web.tar.gz', version: '1', sha256: 'a'.repeat(64) },
    commands: { start: './run' },
    ...extra,
  });

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function appmasterOn(coordinator: MemoryCoordinator): AppMaster {
  const appmaster = new AppMaster({
    coordinator,
    log: createLogger('appmaster', 'silent'),
    worker: () => ({ argv: ['true'], appmasters: ['127.0.0.1:1'] }),
  });
  cleanups.push(
    () => appmaster.detach(),
    () => coordinator.close(),
  );
  return appmaster;
}

describe('submitting a job', () => {
  it('fails when the job cannot be stored, and leaves nothing of it', async () => {
    const coordinator = new FailingJobs();
    const appmaster = appmasterOn(coordinator);
    coordinator.failing = true;
    await expect(appmaster.submit(spec())).rejects.toThrow(
      /GALAXY_E_COORD_UNAVAILABLE: job web was not submitted: storing it failed \(the disk is full\); nothing of it was kept/,
    );
    expect(await appmaster.list()).toEqual([]);
    expect(await coordinator.list(JOBS_PREFIX)).toEqual([]);
    expect(await new QuotaStore(coordinator).claims('anonymous')).toEqual({});
    // Nothing half-made stands in the way of the same submit once the store works.
    coordinator.failing = false;
    expect((await appmaster.submit(spec())).name).toBe('web');
    expect(await coordinator.list(JOBS_PREFIX)).toEqual(['web']);
    expect(Object.keys(await new QuotaStore(coordinator).claims('anonymous'))).toEqual(['appmaster/web']);
  });

  it('refuses a job too large for one coordinator key, naming the limit, before claiming anything', async () => {
    const coordinator = new FailingJobs();
    const appmaster = appmasterOn(coordinator);
    // A valid spec (256 variables of 4000 characters) of about 1 MB: under the 1 MiB spec limit, over a key's.
    const env = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`V${i}`, 'x'.repeat(4000)]));
    await expect(appmaster.submit(spec({ env }))).rejects.toThrow(
      new RegExp(
        `GALAXY_E_TOO_LARGE: job web would take about \\d+ bytes in the coordinator .* at most ${MAX_VALUE_BYTES} bytes \\(ZooKeeper's jute.maxbuffer`,
      ),
    );
    // Many replicas add up as well.
    await expect(appmaster.submit(spec({ replicas: 10_000 }))).rejects.toThrow(/GALAXY_E_TOO_LARGE: job web/);
    expect(await appmaster.list()).toEqual([]);
    expect(await coordinator.list(JOBS_PREFIX)).toEqual([]);
    expect(await new QuotaStore(coordinator).claims('anonymous')).toEqual({});
  });
});

describe('a job stored by an AppMaster from before typed pauses', () => {
  it('is read with its pause as a typed reason, and shown as before', async () => {
    const coordinator = new MemoryCoordinator();
    const submitted = appmasterOn(coordinator);
    await submitted.submit(spec({ deploy: { breakpoint: 2 } }));
    await submitted.updateJob(
      spec({
        deploy: { breakpoint: 2 },
        package: { source: 'file:///pkg/web.tar.gz', version: '2', sha256: 'b'.repeat(64) },
      }),
    );
    await submitted.detach();
    const key = `${JOBS_PREFIX}/web`;
    const record = JSON.parse((await coordinator.get(key))?.value ?? '{}') as Record<string, Record<string, unknown>>;
    const update = { ...record.update };
    delete update.pause;
    for (const [paused, pausedReason] of [
      [true, 'breakpoint after 2 pods'],
      [true, 'max failures'],
      [true, 'by user'],
    ] as const) {
      await coordinator.put(key, JSON.stringify({ ...record, update: { ...update, paused, pausedReason } }));
      const loaded = appmasterOn(coordinator);
      await loaded.recover();
      expect((await loaded.show('web')).update).toMatchObject({ paused: true, pausedReason });
    }
    await coordinator.put(key, JSON.stringify({ ...record, update: { ...update, paused: false, pausedReason: '' } }));
    const moving = appmasterOn(coordinator);
    await moving.recover();
    expect((await moving.show('web')).update).toMatchObject({ paused: false, pausedReason: '' });
  });
});

describe('JobStore writes', () => {
  /** A coordinator that counts job writes and holds each until released. */
  class SlowJobs extends MemoryCoordinator {
    readonly written: string[] = [];
    private release: (() => void)[] = [];

    override async put(key: string, value: string, options?: { expectedVersion?: number }): Promise<number> {
      if (key.startsWith(JOBS_PREFIX)) {
        this.written.push(value);
        await new Promise<void>((resolve) => this.release.push(resolve));
      }
      return super.put(key, value, options);
    }

    releaseAll(): void {
      for (const resolve of this.release.splice(0)) resolve();
    }
  }

  it('joins the saves made while a write is in flight into one write of the newest state', async () => {
    const coordinator = new SlowJobs();
    cleanups.push(() => coordinator.close());
    const store = new JobStore(coordinator, createLogger('test', 'silent'));
    const record = { name: 'web', pods: [] as number[] } as unknown as JobRecord & { pods: number[] };
    const saves = [store.store(record)];
    await until(() => coordinator.written.length === 1);
    for (let i = 0; i < 10; i++) {
      record.pods.push(i);
      saves.push(store.store(record));
    }
    coordinator.releaseAll();
    await until(() => coordinator.written.length === 2);
    coordinator.releaseAll();
    await Promise.all(saves);
    expect(coordinator.written.map((v) => (JSON.parse(v) as { pods: number[] }).pods.length)).toEqual([0, 10]);
    expect(JSON.parse((await coordinator.get(`${JOBS_PREFIX}/web`))?.value ?? '')).toEqual(record);

    // A save after a removal is not joined to a save before it: the job is stored again after.
    const removed = store.remove('web');
    record.pods.push(10);
    const again = store.store(record);
    for (;;) {
      coordinator.releaseAll();
      if (await Promise.race([Promise.all([removed, again]).then(() => true), tick().then(() => false)])) break;
    }
    expect((await coordinator.get(`${JOBS_PREFIX}/web`))?.value).toBe(JSON.stringify(record));
  });
});

async function tick(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1));
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await tick();
}
