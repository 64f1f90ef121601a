/**
 * The real AppMaster against a real master (loopback gRPC) and fake agents: a production pod
 * that finds the cluster full of best-effort work is placed through a preemption; a pod of its
 * own that is preempted is placed again without counting against its host.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Band, PREEMPTED_REASON } from '../../core/bands.js';
import { StatusSource, TaskState, type Resources } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { PackingFramework } from '../../test/helpers/packing-framework.js';
import { startOneAgentCluster, startRealAppMaster } from '../../test/helpers/real-appmaster.js';
import { lacksResources } from './preemption.js';

const MiB = 1024 ** 2;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function res(cpus: number, mem: number): Resources {
  return { cpus, mem, disk: 0, gpus: 0, ports: [] };
}

describe('lacksResources', () => {
  it('is true for shortages and no offers, false for labels or pools only', () => {
    expect(lacksResources([{ reason: 'insufficient cpu (needs 1000m)' }])).toBe(true);
    expect(lacksResources([{ reason: 'no offers (waiting for resources)' }])).toBe(true);
    expect(lacksResources([{ reason: 'missing label zone=b' }, { reason: 'not in pool "gpu"' }])).toBe(false);
  });
});

describe('AppMaster preemption', { timeout: 40_000 }, () => {
  it('places a production pod on a cluster full of best-effort work by preempting, and re-places a preempted pod', async () => {
    const { master, agent } = await startOneAgentCluster(cleanups);
    const be = new PackingFramework({
      master: master.address,
      name: 'crunch',
      band: Band.BAND_BEST_EFFORT,
      resources: res(1000, 1024 * MiB),
      count: 2,
      relaunch: false,
    });
    cleanups.push(() => be.stop());
    await be.start();
    await eventually(() => be.placed === 2, 10_000, 'best-effort work fills the agent');

    const { appmaster, driver } = await startRealAppMaster(master.address, cleanups);
    await appmaster.submit(
      JSON.stringify({
        name: 'web',
        band: 'service',
        replicas: 1,
        resources: { cpu: { millicores: '1000m' }, memory: { hard: '512Mi' } },
        package: { source: 'file:///pkg/web.tar.gz', version: '1', sha256: 'a'.repeat(64) },
        commands: { start: './run' },
      }),
    );
    // Pending > 2 s for lack of resources → PREEMPT → one best-effort task killed → placed.
    const placed = await eventually(
      async () => (await appmaster.show('web')).pods.find((p) => p.taskId !== ''),
      15_000,
      'the web pod placed',
    );
    const events = master.events.query({ kind: 'preemption' });
    expect(events).toHaveLength(1);
    expect(events[0]?.preemption).toMatchObject({ requestId: 'web/web-0', band: Band.BAND_PRODUCTION });
    expect(events[0]?.preemption?.victims).toHaveLength(1);
    await eventually(() => be.preempted.length === 1, 10_000, 'the victim hears it was preempted');
    // The pod's task carries its band.
    const launched = await eventually(
      () => [...agent.running.values()].find((t) => t.taskId === placed.taskId),
      10_000,
      'the pod task on the agent',
    );
    expect(launched.band).toBe(Band.BAND_PRODUCTION);

    // Its own pod preempted (as a monitoring job would): placed again, and the host is not blamed.
    appmaster.update(driver, {
      taskId: placed.taskId,
      frameworkId: driver.frameworkId,
      agentId: placed.agentId,
      state: TaskState.TASK_KILLED,
      reason: PREEMPTED_REASON,
      message: 'preempted by mon (monitoring) for mon/0',
      source: StatusSource.SOURCE_MASTER,
      timestamp: Date.now() / 1000,
      uuid: '',
    });
    const status = await appmaster.show('web');
    expect(status.pods[0]?.taskId).toBe('');
    expect(status.blacklist).toEqual([]);
  });
});
