/**
 * A job submitted while an offer round is being planned (its write-ahead under way) is REVIVEd at
 * once, before the round DECLINEs the offers it did not use; that DECLINE's refuse filter would
 * keep the new job off those agents for its refusal (issue 16: at 10× a 1 s filter is 10 s of
 * trace time). The scheduler REVIVEs again once the DECLINE is answered.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { createLogger } from '../../core/logger.js';
import { BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import { RecordStore } from '../sdk/records.js';
import { BatchScheduler, JOBS_PREFIX } from './scheduler.js';

/** Holds the next put of `key` until `release()`. */
class GatedCoordinator extends MemoryCoordinator {
  private gate?: { key: string; opened: Promise<void>; reached: () => void };
  release: () => void = () => undefined;

  /** Resolves once the next put of `key` is waiting. */
  hold(key: string): Promise<void> {
    return new Promise<void>((reached) => {
      const opened = new Promise<void>((open) => (this.release = open));
      this.gate = { key, opened, reached };
    });
  }

  override async put(key: string, value: string, options?: { expectedVersion?: number }): Promise<number> {
    const gate = this.gate;
    if (gate?.key === key) {
      this.gate = undefined;
      gate.reached();
      await gate.opened;
    }
    return super.put(key, value, options);
  }
}

function recordingDriver(): { driver: SchedulerDriver; calls: string[] } {
  const calls: string[] = [];
  const ok = (name: string) => () => {
    calls.push(name);
    return Promise.resolve();
  };
  const driver = {
    frameworkId: 'fw-replay',
    roles: [],
    launch: ok('launch'),
    decline: ok('decline'),
    revive: ok('revive'),
    suppress: ok('suppress'),
    kill: ok('kill'),
    acknowledge: ok('acknowledge'),
    reconcile: ok('reconcile'),
    updateFramework: ok('updateFramework'),
  } as unknown as SchedulerDriver;
  return { driver, calls };
}

const spec = (name: string) =>
  BatchJobSpec.fromPartial({
    name,
    command: 'true',
    completions: 1,
    parallelism: 1,
    resources: { cpus: 1000, mem: 64 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
  });

const offer = (id: string): Offer =>
  ({
    id,
    frameworkId: 'fw-replay',
    agentId: `agent-${id}`,
    hostname: `host-${id}`,
    pool: 'default',
    resources: { cpus: 1000, mem: 1024 ** 3, disk: 0, gpus: 0, ports: [] },
  }) as unknown as Offer;

/** Runs `body` with a scheduler on a gated coordinator and a recording driver, detaching after. */
async function withScheduler(
  body: (t: {
    scheduler: BatchScheduler;
    coordinator: GatedCoordinator;
    driver: SchedulerDriver;
    calls: string[];
  }) => Promise<void>,
): Promise<void> {
  const coordinator = new GatedCoordinator();
  const log = createLogger('batch', 'silent');
  const scheduler = new BatchScheduler(log, { store: new RecordStore(coordinator, JOBS_PREFIX, log) });
  const { driver, calls } = recordingDriver();
  scheduler.attach(driver);
  try {
    await body({ scheduler, coordinator, driver, calls });
  } finally {
    await scheduler.detach();
  }
}

describe('batch offer rounds', () => {
  it('REVIVEs after the DECLINE of a round during which a job was submitted', () =>
    withScheduler(async ({ scheduler, coordinator, driver, calls }) => {
      await scheduler.submit(spec('replay-first'));
      // The round launches replay-first into o1; its write-ahead of replay-first waits.
      const held = coordinator.hold(`${JOBS_PREFIX}/replay-first`);
      scheduler.offers(driver, [offer('o1'), offer('o2')]);
      await held;
      calls.length = 0;
      await scheduler.submit(spec('replay-second')); // REVIVEs: the round did not see it
      // The round planned all it knew and SUPPRESSed (its launches are written and sent off the
      // handler queue); the submit REVIVEs after that.
      expect(calls.filter((c) => c === 'revive')).toHaveLength(1);
      expect(calls.lastIndexOf('revive')).toBeGreaterThan(calls.lastIndexOf('suppress'));
      coordinator.release();
      // The round's writes and calls finish off the handler queue.
      await expect.poll(() => calls.includes('decline') && calls.includes('launch')).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
      // o2 is declined with a filter after the REVIVE of replay-second: REVIVE again after it.
      expect(calls.slice(calls.indexOf('decline'))).toEqual(expect.arrayContaining(['decline', 'revive']));
      expect(calls.lastIndexOf('revive')).toBeGreaterThan(calls.indexOf('decline'));
      expect(calls).toContain('launch');
      expect(calls.lastIndexOf('revive')).toBeGreaterThan(calls.lastIndexOf('suppress'));
    }));

  it('sends no REVIVE after the DECLINE when nothing was submitted during the round', () =>
    withScheduler(async ({ scheduler, driver, calls }) => {
      await scheduler.submit(spec('replay-only'));
      calls.length = 0;
      scheduler.offers(driver, [offer('o1'), offer('o2')]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls.filter((c) => c !== 'suppress').sort()).toEqual(['decline', 'launch']);
    }));
});
