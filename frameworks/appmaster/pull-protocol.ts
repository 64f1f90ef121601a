/**
 * The AppWorkers' pull protocol: a worker reports its pod's state and is answered with its next
 * action (`actions.ts`), the pod's pending execs, and where the AppMasters are. A pull with
 * nothing new is held open until the job changes (`jobChanged`) or the hold times out. The spec
 * template goes only with the actions that install from it (DEPLOY, REBUILD, RELOAD).
 */
import { WorkerAction, type PullRequest, type PullResponse } from '../../proto/gen/galaxy/v1/appmaster.js';
import { nextAction } from './actions.js';
import { ownerOf } from './admission.js';
import type { AppMasterContext } from './context.js';
import { boundResult } from './exec-output.js';
import { PullHolds } from './holds.js';
import type { JobState } from './job-state.js';
import { isHealthyAtTarget, type Pod } from './model.js';
import type { Rollout } from './rollout.js';

/** Longest a pull is held open waiting for a change. */
const MAX_HOLD_MS = 10_000;

/** The actions a worker carries out from the spec template: only their answers carry it. */
const NEEDS_TEMPLATE: ReadonlySet<WorkerAction> = new Set([
  WorkerAction.ACTION_DEPLOY,
  WorkerAction.ACTION_REBUILD,
  WorkerAction.ACTION_RELOAD,
]);

/** Answers AppWorkers' pulls. */
export class PullProtocol {
  /** Pulls held open, per job: answered when the job changes. */
  private readonly holds = new PullHolds();

  constructor(
    private readonly ctx: AppMasterContext,
    private readonly rollout: Rollout,
  ) {
    ctx.hooks.jobChanged.tap('pull-protocol', (job) => {
      this.holds.wake(job.record.name);
    });
  }

  /** The pod whose current container's pull token hashes to `sha256` (the pull API authenticates with it). */
  podOfToken(sha256: string): { job: string; podId: string; owner: string } | undefined {
    for (const job of this.ctx.book.all()) {
      const pod = job.pods().find((p) => p.record.tokenSha256 === sha256);
      if (pod) return { job: job.record.name, podId: pod.record.podId, owner: ownerOf(job.record) };
    }
    return undefined;
  }

  /** An AppWorker's report; answered with its next action, held open while there is none. */
  async pull(request: PullRequest): Promise<PullResponse> {
    let located = this.locate(request);
    if (!located) return this.exit();
    this.receive(located.job, located.pod, request);
    let answer = this.answer(located.job, located.pod);
    if (answer.action === WorkerAction.ACTION_NONE && answer.execs.length === 0 && request.waitMs > 0) {
      await this.holds.hold(request.job, Math.min(request.waitMs, MAX_HOLD_MS));
      located = this.locate(request);
      if (!located) return this.exit();
      answer = this.answer(located.job, located.pod);
    }
    return answer;
  }

  /** Answers every held pull now (the AppMaster stops leading). */
  wakeAll(): void {
    this.holds.wakeAll();
  }

  /** The pod the pull is of, while it still runs the container that pulls. */
  private locate(request: PullRequest): { job: JobState; pod: Pod } | undefined {
    const job = this.ctx.book.get(request.job);
    const record = job?.record.pods.find((p) => p.podId === request.podId);
    if (!job || !record || record.taskId !== request.taskId) return undefined;
    return { job, pod: job.pod(record.podId) };
  }

  /** Takes in the worker's report: exec results to their callers, health, then the `podReported` taps and the update. */
  private receive(job: JobState, pod: Pod, request: PullRequest): void {
    const now = this.ctx.now();
    const report = request.report;
    pod.runtime.report = report;
    pod.runtime.lastPullAt = now;
    for (const output of report?.execResults ?? []) {
      const pending = pod.runtime.execs.get(output.execId);
      if (!pending) continue;
      pod.runtime.execs.delete(output.execId);
      // The pod is not trusted: what it returns is bounded again before it goes to the caller.
      pending.resolve(boundResult(output.result ?? { exitCode: -1, stdout: '', stderr: 'no result' }));
    }
    const healthy = isHealthyAtTarget(pod);
    if (healthy && pod.runtime.healthySince === 0) pod.runtime.healthySince = now;
    if (!healthy) pod.runtime.healthySince = 0;
    this.ctx.hooks.podReported.call(job, pod);
    this.rollout.step(job);
  }

  private answer(job: JobState, pod: Pod): PullResponse {
    const { action, revision } = nextAction(job.record, pod);
    // Sent again on every answer until the result comes back: an answer can be lost when the
    // worker cancels a pull in flight; the worker runs each exec id once.
    const execs = [...pod.runtime.execs.entries()].map(([execId, e]) => ({
      execId,
      command: e.command,
      timeoutS: e.timeoutS,
    }));
    return {
      ...this.answerFor(action, revision),
      templateJson: NEEDS_TEMPLATE.has(action) ? JSON.stringify(job.specOf(revision)) : '',
      assignedPorts: pod.record.ports,
      execs,
    };
  }

  /** The answer to a worker whose pod is gone or no longer its: exit. */
  private exit(): PullResponse {
    return this.answerFor(WorkerAction.ACTION_EXIT, 0);
  }

  /** An answer with nothing for the pod: `action`, and when and where to pull next. */
  private answerFor(action: WorkerAction, revision: number): PullResponse {
    return {
      action,
      revision,
      templateJson: '',
      assignedPorts: {},
      execs: [],
      pullIntervalMs: this.ctx.options.pullIntervalMs ?? 3000,
      appmasters: [...this.ctx.options.worker().appmasters],
    };
  }
}
