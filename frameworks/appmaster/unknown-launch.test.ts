/**
 * An ACCEPT whose answer never comes (GALAXY_E_UNAVAILABLE, deadline exceeded) has an unknown
 * outcome: the master may or may not have launched its pods' tasks (issue 16: 703 ACCEPTs of the
 * AppMaster timed out at 6,000 agents). The AppMaster asks the master about those tasks: a task
 * the master never launched (TASK_UNKNOWN) is placed again on a later offer, one it did launch is
 * adopted, never launched a second time. An ACCEPT the master refused (its framework unknown after
 * the subscription dropped) launched nothing: its pods are placed again once re-subscribed.
 *
 * The fake master here keeps what a master would: the tasks it launched, whether the AppMaster is
 * suppressed (no offers then), and answers RECONCILE and KILL from them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GalaxyError } from '../../core/errors.js';
import { StatusSource, TaskState, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { CallResponse, SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

/**
 * What the master does with an ACCEPT: carries it out and answers; carries it out or not, and
 * never answers; refuses it; answers it but loses its tasks (an agent that never got them).
 */
type AcceptFate = 'answered' | 'launched-unanswered' | 'lost-unanswered' | 'framework-unknown' | 'answered-lost';

/** The call deadline: an unanswered ACCEPT fails this long after it was sent. */
const CALL_TIMEOUT_MS = 300;

/** A master's bookkeeping behind the fake master. */
class ModelMaster {
  /** Task id → the task, for every task the master launched and that has not ended. */
  readonly tasks = new Map<string, TaskInfo & { agentId: string }>();
  suppressed = false;
  /** SUPPRESS is applied but never answered (its call fails at the deadline). */
  suppressUnanswered = false;
  harness: AppMasterHarness | undefined;
  private offers = 0;

  constructor(private readonly fate: (offerId: string) => AcceptFate) {}

  /** The fake master's answer to `call`. */
  answer(call: SchedulerCall): CallResponse | undefined | Promise<CallResponse | undefined> {
    const body = call.call;
    switch (body?.$case) {
      case 'accept': {
        const [offerId = ''] = body.accept.offerIds;
        const fate = this.fate(offerId);
        if (fate === 'framework-unknown') {
          // The subscription is gone: refused, changing nothing; the stream ends too.
          setImmediate(() => {
            this.harness?.master.closeStreams();
          });
          throw new GalaxyError('GALAXY_E_FRAMEWORK_UNKNOWN', 'framework is not subscribed; SUBSCRIBE first');
        }
        const infos = body.accept.operations.flatMap((o) =>
          o.operation?.$case === 'launch' ? o.operation.launch.taskInfos : [],
        );
        if (fate !== 'lost-unanswered' && fate !== 'answered-lost')
          for (const info of infos) this.tasks.set(info.taskId, { ...info, agentId: `a-${offerId}` });
        // The answer never comes: the AppMaster's call fails with GALAXY_E_UNAVAILABLE at its deadline.
        if (fate !== 'answered' && fate !== 'answered-lost') return new Promise<undefined>(() => undefined);
        return undefined;
      }
      case 'suppress':
        this.suppressed = true;
        // Applied, and answered too late when the test says so.
        if (this.suppressUnanswered) return new Promise<undefined>(() => undefined);
        return undefined;
      case 'revive':
        this.suppressed = false;
        return undefined;
      case 'reconcile': {
        const named = body.reconcile.tasks.map((t) => t.taskId);
        const ids = named.length > 0 ? named : [...this.tasks.keys()];
        setImmediate(() => {
          for (const id of ids)
            this.status(id, this.tasks.has(id) ? TaskState.TASK_RUNNING : TaskState.TASK_UNKNOWN, 'reconciliation');
        });
        return undefined;
      }
      case 'kill': {
        const id = body.kill.taskId;
        if (!this.tasks.delete(id)) throw new GalaxyError('GALAXY_E_TASK_UNKNOWN', `no live task "${id}"`);
        setImmediate(() => {
          this.status(id, TaskState.TASK_KILLED, '');
        });
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** Sends the status of task `taskId`. */
  status(taskId: string, state: TaskState, reason: string): void {
    const status: TaskStatus = {
      taskId,
      state,
      message: '',
      reason,
      source: StatusSource.SOURCE_MASTER,
      agentId: this.tasks.get(taskId)?.agentId ?? '',
      frameworkId: 'fw-fake-1',
      timestamp: 0,
      uuid: '',
    };
    this.harness?.send({ $case: 'update', update: { status } });
  }

  /** One round: a new offer, unless the AppMaster is suppressed; its clock moves on a second. */
  offerRound(): void {
    this.harness?.advance(1000);
    if (this.suppressed) return;
    this.offers += 1;
    this.harness?.offer(offerOf(`o${this.offers}`, `a${this.offers}`));
  }

  /** The master's live tasks of pod `podId`. */
  tasksOf(podId: string): string[] {
    return [...this.tasks.values()].filter((t) => t.taskId.startsWith(`${podId}.`)).map((t) => t.taskId);
  }
}

let h: AppMasterHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** An AppMaster on a fake master kept by `model`, whose calls fail after {@link CALL_TIMEOUT_MS} unanswered. */
async function start(model: ModelMaster): Promise<AppMasterHarness> {
  h = await startAppMasterHarness({ callTimeoutMs: CALL_TIMEOUT_MS, answer: (call) => model.answer(call) });
  model.harness = h;
  return h;
}

/** Offer rounds, 200 ms apart, until `done` or `rounds` have passed; true when done. */
async function roundsUntil(
  model: ModelMaster,
  done: () => boolean | Promise<boolean>,
  rounds: number,
): Promise<boolean> {
  for (let n = 0; n < rounds; n += 1) {
    if (await done()) return true;
    model.offerRound();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return done();
}

/** Each pod of `job` runs exactly one task at the master, the one the AppMaster knows it by. */
async function eachPodRunsOnce(model: ModelMaster, h: AppMasterHarness, job: string): Promise<boolean> {
  const pods = (await h.show(job)).pods;
  return pods.every((p) => {
    const live = model.tasksOf(p.podId);
    return live.length === 1 && live[0] === p.taskId;
  });
}

/** The times pod `podId` was put into an ACCEPT. */
function launchesOf(h: AppMasterHarness, podId: string): number {
  return h.launched().filter((t) => t.taskId.startsWith(`${podId}.`)).length;
}

describe('AppMaster ACCEPTs whose outcome is unknown', { timeout: 30_000 }, () => {
  it('places again, within a few rounds, pods of a timed-out ACCEPT the master never carried out', async () => {
    const model = new ModelMaster((offerId) => (offerId === 'o1' ? 'lost-unanswered' : 'answered'));
    const h = await start(model);
    await h.appmaster.submit(specJson('unk-lost', 2));
    model.offerRound();
    await h.calls('accept');
    expect(h.launched()).toHaveLength(2);
    // The ACCEPT fails at its deadline; nothing runs at the master.
    await new Promise((resolve) => setTimeout(resolve, CALL_TIMEOUT_MS + 100));
    expect(model.tasks.size).toBe(0);
    expect(await roundsUntil(model, () => eachPodRunsOnce(model, h, 'unk-lost'), 20)).toBe(true);
    for (const pod of ['unk-lost-0', 'unk-lost-1']) expect(launchesOf(h, pod)).toBe(2);
  });

  it('adopts, and does not launch again, pods of a timed-out ACCEPT the master carried out', async () => {
    const model = new ModelMaster((offerId) => (offerId === 'o1' ? 'launched-unanswered' : 'answered'));
    const h = await start(model);
    await h.appmaster.submit(specJson('unk-ran', 2));
    model.offerRound();
    await h.calls('accept');
    const first = h.launched().map((t) => t.taskId);
    // Their RUNNING arrives before the ACCEPT fails at its deadline.
    for (const taskId of first) model.status(taskId, TaskState.TASK_RUNNING, '');
    await new Promise((resolve) => setTimeout(resolve, CALL_TIMEOUT_MS + 100));
    // Offers keep coming for a while: none of them gets these pods a second time.
    await roundsUntil(model, () => false, 10);
    expect(h.launched().map((t) => t.taskId)).toEqual(first);
    expect(await eachPodRunsOnce(model, h, 'unk-ran')).toBe(true);
  });

  it('adopts a pod whose task the master launched when only the reconciliation answer tells of it', async () => {
    const model = new ModelMaster((offerId) => (offerId === 'o1' ? 'launched-unanswered' : 'answered'));
    const h = await start(model);
    await h.appmaster.submit(specJson('unk-quiet', 1));
    model.offerRound();
    await h.calls('accept');
    const first = h.launched().map((t) => t.taskId);
    await new Promise((resolve) => setTimeout(resolve, CALL_TIMEOUT_MS + 100));
    await roundsUntil(model, () => false, 10);
    expect(h.launched().map((t) => t.taskId)).toEqual(first);
    expect(await eachPodRunsOnce(model, h, 'unk-quiet')).toBe(true);
  });

  it('asks again when the reconciliation itself goes unanswered', async () => {
    let reconciles = 0;
    const model = new ModelMaster((offerId) => (offerId === 'o1' ? 'lost-unanswered' : 'answered'));
    h = await startAppMasterHarness({
      callTimeoutMs: CALL_TIMEOUT_MS,
      answer: (call) => {
        // The first RECONCILE is lost with the master's answer.
        if (call.call?.$case === 'reconcile' && call.call.reconcile.tasks.length > 0 && reconciles++ === 0)
          return new Promise<undefined>(() => undefined);
        return model.answer(call);
      },
    });
    model.harness = h;
    const harness = h;
    await harness.appmaster.submit(specJson('unk-again', 1));
    model.offerRound();
    await harness.calls('accept');
    await new Promise((resolve) => setTimeout(resolve, CALL_TIMEOUT_MS + 100));
    expect(await roundsUntil(model, () => eachPodRunsOnce(model, harness, 'unk-again'), 40)).toBe(true);
    expect(reconciles).toBeGreaterThanOrEqual(2);
  });

  it('places again pods whose ACCEPT was refused as the subscription dropped, once re-subscribed', async () => {
    const model = new ModelMaster((offerId) => (offerId === 'o1' ? 'framework-unknown' : 'answered'));
    const h = await start(model);
    await h.appmaster.submit(specJson('unk-resub', 2));
    model.offerRound();
    await h.calls('accept');
    await h.master.subscriptions.waitFor(() => h.master.subscriptions.items.length >= 2, 5000, 'a re-subscription');
    expect(await roundsUntil(model, () => eachPodRunsOnce(model, h, 'unk-resub'), 20)).toBe(true);
    for (const pod of ['unk-resub-0', 'unk-resub-1']) expect(launchesOf(h, pod)).toBe(2);
  });

  it('places pods of a timed-out ACCEPT whose subscription dropped before the master was asked about them', async () => {
    let dropped = false;
    const model = new ModelMaster((offerId) => (offerId === 'o1' ? 'lost-unanswered' : 'answered'));
    h = await startAppMasterHarness({
      callTimeoutMs: CALL_TIMEOUT_MS,
      answer: (call) => {
        // The subscription drops with the ACCEPT unanswered; the first RECONCILE finds it gone.
        if (call.call?.$case === 'reconcile' && call.call.reconcile.tasks.length > 0 && !dropped) {
          dropped = true;
          setImmediate(() => {
            model.harness?.master.closeStreams();
          });
          throw new GalaxyError('GALAXY_E_FRAMEWORK_UNKNOWN', 'framework is not subscribed; SUBSCRIBE first');
        }
        return model.answer(call);
      },
    });
    model.harness = h;
    const harness = h;
    await harness.appmaster.submit(specJson('unk-both', 2));
    model.offerRound();
    await harness.calls('accept');
    await new Promise((resolve) => setTimeout(resolve, CALL_TIMEOUT_MS + 100));
    await eventually(() => dropped, 5000, 'the reconciliation refused');
    expect(await roundsUntil(model, () => eachPodRunsOnce(model, harness, 'unk-both'), 40)).toBe(true);
  });

  it('REVIVEs and places a pod that waits again after a SUPPRESS the master applied but did not answer', async () => {
    const model = new ModelMaster(() => 'answered');
    const h = await start(model);
    await h.appmaster.submit(specJson('unk-gate', 1));
    model.offerRound();
    await h.calls('accept');
    // Nothing more to launch: the next round's SUPPRESS is applied, and its answer never comes.
    model.suppressUnanswered = true;
    model.offerRound();
    await h.calls('suppress');
    expect(model.suppressed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, CALL_TIMEOUT_MS + 100));
    model.suppressUnanswered = false;
    // The pod's container fails: it waits for an offer, and offers come only after a REVIVE.
    const [first] = model.tasksOf('unk-gate-0');
    if (!first) throw new Error('the pod was not launched');
    model.tasks.delete(first);
    model.status(first, TaskState.TASK_FAILED, '');
    expect(await roundsUntil(model, () => eachPodRunsOnce(model, h, 'unk-gate'), 20)).toBe(true);
  });

  it('places again a pod stuck deploying whose task the master does not have (its KILL is refused)', async () => {
    const model = new ModelMaster((offerId) => (offerId === 'o1' ? 'answered-lost' : 'answered'));
    const h = await start(model);
    await h.appmaster.submit(specJson('unk-kill', 1, '1', { deploy: { deployTimeoutS: 5 } }));
    model.offerRound();
    await h.calls('accept');
    // Past its deploy timeout the AppMaster kills it: the master has no such task (GALAXY_E_TASK_UNKNOWN).
    h.advance(10_000);
    await h.calls('kill');
    expect(await roundsUntil(model, () => eachPodRunsOnce(model, h, 'unk-kill'), 20)).toBe(true);
  });
});
