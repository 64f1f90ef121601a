/**
 * The AppMaster against the SDK's fake master (loopback gRPC) and an in-memory coordinator, with
 * no root and no containers: pods are placed and launched from offers; a worker is told its next
 * action, with the spec template only when the action installs from it; a held pull is answered
 * when its job changes; a rolling update moves one pod at a time and pauses at its breakpoint
 * with a typed reason, holds while a user paused it, and rolls back; an ended container counts against its host (a preempted one does not);
 * and the built-in plugins publish endpoints, move pods off a draining agent at the deploy pace,
 * and ask for a preemption for a pod that waits too long. A plugin of the options can hold an
 * update back on the `updatePlanned` waterfall.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PREEMPTED_REASON } from '../../core/bands.js';
import { GalaxyError } from '../../core/errors.js';
import { PullRequest, UpdateControl, WorkerAction } from '../../proto/gen/galaxy/v1/appmaster.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { resolve } from '../sdk/naming.js';
import type { AppMasterPlugin } from './hooks.js';
import { JOBS_PREFIX } from './store.js';
import {
  offerOf,
  specJson,
  startAppMasterHarness,
  type AppMasterHarness,
  type HarnessOptions,
} from './testing/harness.js';

const harnesses: AppMasterHarness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
});

async function harness(options: HarnessOptions = {}): Promise<AppMasterHarness> {
  const h = await startAppMasterHarness(options);
  harnesses.push(h);
  return h;
}

/** A job of `replicas` pods launched from one offer of agent a1, each reporting healthy at revision 1. */
async function running(h: AppMasterHarness, replicas: number, extra: Record<string, unknown> = {}): Promise<void> {
  await h.appmaster.submit(specJson('web', replicas, '1', extra));
  h.offer(offerOf('o1'));
  await h.calls('accept');
  for (let i = 0; i < replicas; i += 1) await h.healthy('web', `web-${i}`, 1);
}

const paced = { deploy: { step: 1, intervalS: 0, breakpoint: 1 } };

describe('AppMaster', { timeout: 20_000 }, () => {
  it('launches pending pods into offers and sends the template only with the actions that install from it', async () => {
    const h = await harness();
    const http = { ports: [{ name: 'http' }], services: [{ name: 'http', port: 'http' }] };
    await h.appmaster.submit(specJson('web', 2, '1', http));
    await h.calls('revive');
    h.offer(offerOf('o1'));
    const [accept] = await h.calls('accept');
    expect(accept?.call?.$case === 'accept' && accept.call.accept.offerIds).toEqual(['o1']);
    expect(h.launched().map((t) => [t.name, t.command?.env.GALAXY_JOB])).toEqual([
      ['web/web-0', 'web'],
      ['web/web-1', 'web'],
    ]);

    const deploy = await h.pull('web', 'web-0');
    expect(deploy.action).toBe(WorkerAction.ACTION_DEPLOY);
    expect(JSON.parse(deploy.templateJson)).toMatchObject({ name: 'web', package: { version: '1' } });
    const idle = await h.healthy('web', 'web-0', 1);
    expect(idle).toMatchObject({ action: WorkerAction.ACTION_NONE, revision: 1, templateJson: '' });
    expect(Object.keys(idle.assignedPorts)).toEqual(['http']);
    // The naming plugin published the healthy pod's endpoint.
    const endpoints = await eventually(async () => {
      const found = await resolve(h.coordinator, 'web', 'http');
      return found.length === 1 && found;
    });
    expect(endpoints[0]).toMatchObject({
      podId: 'web-0',
      host: 'host-a1',
      port: idle.assignedPorts.http,
      healthy: true,
    });
    // A worker whose container is not the pod's any more is told to exit.
    const stale = await h.appmaster.pull(PullRequest.fromPartial({ job: 'web', podId: 'web-0', taskId: 'old' }));
    expect(stale.action).toBe(WorkerAction.ACTION_EXIT);
  });

  it('answers a held pull as soon as its job changes', async () => {
    const h = await harness();
    await running(h, 1, paced);
    const { pods } = await h.show('web');
    const started = Date.now();
    const held = h.appmaster.pull(
      PullRequest.fromPartial({
        job: 'web',
        podId: 'web-0',
        taskId: pods[0]?.taskId,
        report: { phase: 'running', health: 'healthy', revision: 1, dataRevision: 1 },
        waitMs: 8000,
      }),
    );
    await h.appmaster.updateJob(specJson('web', 1, '2', paced));
    const answer = await held;
    expect(answer).toMatchObject({ action: WorkerAction.ACTION_REBUILD, revision: 2 });
    expect(JSON.parse(answer.templateJson)).toMatchObject({ package: { version: '2' } });
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('rolls an update one pod at a time, pauses at the breakpoint with a typed reason, and goes on when continued', async () => {
    const h = await harness();
    await running(h, 2, paced);
    await h.appmaster.updateJob(specJson('web', 2, '2', paced));
    expect(await h.healthy('web', 'web-0', 1)).toMatchObject({ action: WorkerAction.ACTION_REBUILD, revision: 2 });
    expect((await h.healthy('web', 'web-1', 1)).action).toBe(WorkerAction.ACTION_NONE);
    await expect(h.appmaster.control('web', UpdateControl.UPDATE_CONTINUE)).rejects.toMatchObject({
      code: 'GALAXY_E_JOB_STATE',
    });

    await h.healthy('web', 'web-0', 2);
    const paused = await h.show('web');
    expect(paused.state).toBe('paused');
    expect(paused.update).toMatchObject({ updated: 1, total: 2, paused: true, pausedReason: 'breakpoint after 1 pod' });
    expect((await h.healthy('web', 'web-1', 1)).action).toBe(WorkerAction.ACTION_NONE);
    // Stored as a typed pause (the tick stores what changed).
    const stored = await eventually(async () => {
      const value = (await h.coordinator.get(`${JOBS_PREFIX}/web`))?.value;
      return value !== undefined && (JSON.parse(value) as { update?: { pause?: unknown } }).update?.pause;
    });
    expect(stored).toEqual({ reason: 'breakpoint', pods: 1 });

    await h.appmaster.control('web', UpdateControl.UPDATE_CONTINUE);
    expect(await h.healthy('web', 'web-1', 1)).toMatchObject({ action: WorkerAction.ACTION_REBUILD, revision: 2 });
    await h.healthy('web', 'web-1', 2);
    const done = await h.show('web');
    expect(done.state).toBe('running');
    expect(done.update).toBeUndefined();
  });

  it('holds an update a user paused, rolls it back to the old revision, and cancels nothing that is not there', async () => {
    const h = await harness();
    const steady = { deploy: { step: 1, intervalS: 0 } };
    await running(h, 2, steady);
    await h.appmaster.updateJob(specJson('web', 2, '2', steady));
    await h.appmaster.control('web', UpdateControl.UPDATE_PAUSE);
    expect((await h.show('web')).update).toMatchObject({ paused: true, pausedReason: 'by user' });
    await h.healthy('web', 'web-0', 2);
    expect((await h.healthy('web', 'web-1', 1)).action).toBe(WorkerAction.ACTION_NONE);

    await h.appmaster.control('web', UpdateControl.UPDATE_ROLLBACK);
    const back = await h.show('web');
    expect(back).toMatchObject({ state: 'rolling-back', revision: 1 });
    expect(back.update).toMatchObject({ fromRevision: 2, toRevision: 1, paused: false });
    expect(await h.healthy('web', 'web-0', 2)).toMatchObject({ action: WorkerAction.ACTION_REBUILD, revision: 1 });
    await h.healthy('web', 'web-0', 1);
    expect((await h.show('web')).update).toBeUndefined();
    await expect(h.appmaster.control('web', UpdateControl.UPDATE_CANCEL)).rejects.toMatchObject({
      code: 'GALAXY_E_JOB_STATE',
    });
  });

  it('counts an ended container against its host, not a preempted one, and avoids a blacklisted host', async () => {
    const h = await harness();
    await running(h, 1, { failure: { blacklistAfter: 1 } });
    await h.taskState('web', 'web-0', TaskState.TASK_FAILED, 'exit 1');
    const failed = await eventually(async () => {
      const job = await h.show('web');
      return job.pods[0]?.taskId === '' && job;
    });
    expect(failed.blacklist).toEqual(['host-a1']);

    h.offer(offerOf('o2', 'a1'), offerOf('o3', 'a2'));
    await h.calls('accept', 2);
    expect(h.launched()[1]?.agentId).toBe('a2');
    await h.taskState('web', 'web-0', TaskState.TASK_KILLED, PREEMPTED_REASON);
    const preempted = await eventually(async () => {
      const job = await h.show('web');
      return job.pods[0]?.taskId === '' && job;
    });
    expect(preempted.blacklist).toEqual(['host-a1']);
  });

  it('moves the pods off a draining agent one at a time, each after its replacement is healthy', async () => {
    const h = await harness();
    await running(h, 2, { deploy: { step: 1, intervalS: 0 } });
    h.send({ $case: 'agentDraining', agentDraining: { agentId: 'a1', draining: true } });
    const [first] = await h.calls('kill');
    const moved = first?.call?.$case === 'kill' ? first.call.kill.taskId : '';
    const pods = (await h.show('web')).pods;
    const podId = pods.find((p) => p.taskId === moved)?.podId ?? '';
    // Past two ticks the other pod still serves: the deploy step allows one pod away.
    await new Promise((r) => setTimeout(r, 1200));
    expect((await h.calls('kill')).length).toBe(1);

    await h.taskState('web', podId, TaskState.TASK_KILLED);
    await eventually(async () => (await h.show('web')).pods.find((p) => p.podId === podId)?.taskId === '');
    h.offer(offerOf('o2', 'a2'));
    await h.calls('accept', 2);
    await h.healthy('web', podId, 1);
    const kills = await h.calls('kill', 2);
    const other = pods.find((p) => p.podId !== podId);
    expect(kills[1]?.call?.$case === 'kill' && kills[1].call.kill.taskId).toBe(other?.taskId);
  });

  it('asks the master to preempt for a production pod pending too long for lack of resources', async () => {
    const h = await harness({
      answer: (call) =>
        call.call?.$case === 'preempt'
          ? {
              preemption: {
                requestId: call.call.preempt.requestId,
                granted: false,
                refusal: 'test',
                victims: [],
                agentId: '',
                outstanding: false,
                setAsideS: 0,
                hostname: '',
                dryRun: false,
              },
            }
          : undefined,
    });
    await h.appmaster.submit(specJson('web', 1));
    // Seen pending by a tick, then the clock passes the wait before a request.
    await new Promise((r) => setTimeout(r, 700));
    h.advance(3000);
    const [call] = await h.calls('preempt');
    expect(call?.call?.$case === 'preempt' && call.call.preempt).toMatchObject({
      requestId: 'web/web-0',
      pool: 'default',
    });
  });

  it('lets a plugin hold an update back on the updatePlanned waterfall, with its own pause reason', async () => {
    let frozen = true;
    const freeze: AppMasterPlugin = {
      name: 'freeze',
      apply(appmaster) {
        appmaster.hooks.updatePlanned.tap('freeze', (plan) =>
          frozen && plan.retarget.length > 0
            ? { ...plan, retarget: [], pause: { reason: 'plugin', plugin: 'freeze', message: 'changes are frozen' } }
            : plan,
        );
      },
    };
    const h = await harness({ plugins: [freeze] });
    await running(h, 1, { deploy: { step: 1, intervalS: 0 } });
    await h.appmaster.updateJob(specJson('web', 1, '2', { deploy: { step: 1, intervalS: 0 } }));
    expect((await h.show('web')).update).toMatchObject({ paused: true, pausedReason: 'freeze: changes are frozen' });
    expect((await h.healthy('web', 'web-0', 1)).action).toBe(WorkerAction.ACTION_NONE);
    frozen = false;
    await h.appmaster.control('web', UpdateControl.UPDATE_CONTINUE);
    expect(await h.healthy('web', 'web-0', 1)).toMatchObject({ action: WorkerAction.ACTION_REBUILD, revision: 2 });
  });

  it('refuses a verb on an unknown job with a coded error', async () => {
    const h = await harness();
    const error = await h.appmaster.scale('nope', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GalaxyError);
    expect(error).toMatchObject({ code: 'GALAXY_E_JOB_UNKNOWN' });
  });
});
