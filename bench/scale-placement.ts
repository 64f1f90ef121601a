/**
 * `bench:scale`'s placement figures (issue 16): how fast the frameworks fill the cell.
 *
 * - `placed_per_s`: `tasks` batch tasks, submit → every task's RUNNING acknowledged by the batch
 *   framework at its agent (the framework acknowledges an update once its effect is stored). A job
 *   runs at most {@link MAX_RUNNING_PER_JOB} tasks at once (its record stays one coordinator key),
 *   so the tasks are submitted as jobs of that many, all at once, as a cell's many jobs would be.
 * - `pods_per_s`: `pods` AppMaster pods on the first agents, submit → every pod's task RUNNING. A
 *   job's pods are one coordinator key too, so they come as jobs of {@link PODS_PER_JOB}.
 *
 * Both count the shards' task events (`r`: running, `a`: RUNNING acknowledged), fed in through
 * {@link TaskCounts.onTaskEvents}.
 */
import { performance } from 'node:perf_hooks';
import { Batch } from '../cli/batch-client.js';
import { appMasterClient } from '../cli/operator-client.js';
import { MAX_RUNNING_PER_JOB } from '../frameworks/batch/scheduler.js';
import { BatchJobSpec } from '../proto/gen/galaxy/v1/batch.js';
import { until, type Cell } from '../sim/cell.js';
import type { TaskEventTuple } from '../sim/run-agents.js';

/** Pods of one AppMaster job in the bench: about 900 KB of record, under one coordinator key. */
export const PODS_PER_JOB = 2_000;

/** Tasks of one prefix: how many ran and had their RUNNING acknowledged, and when the last of each was (ms). */
export interface Count {
  running: number;
  acknowledged: number;
  lastRunningAt: number;
  lastAcknowledgedAt: number;
}

/** The tasks the agents ran and acknowledged, by task id prefix. */
export class TaskCounts {
  private readonly counts = new Map<string, Count>();

  /** Feeds the shards' events in (`CellOptions.onTaskEvents`). */
  readonly onTaskEvents = (events: readonly TaskEventTuple[]): void => {
    for (const [taskId, kind, at] of events) {
      if (kind === 'e') continue;
      const prefix = taskId.slice(0, taskId.indexOf('-'));
      let count = this.counts.get(prefix);
      if (!count) {
        count = { running: 0, acknowledged: 0, lastRunningAt: 0, lastAcknowledgedAt: 0 };
        this.counts.set(prefix, count);
      }
      if (kind === 'r') {
        count.running += 1;
        count.lastRunningAt = Math.max(count.lastRunningAt, at);
      } else {
        count.acknowledged += 1;
        count.lastAcknowledgedAt = Math.max(count.lastAcknowledgedAt, at);
      }
    }
  };

  /** The tasks whose id starts with `prefix-`. */
  of(prefix: string): Count {
    return this.counts.get(prefix) ?? { running: 0, acknowledged: 0, lastRunningAt: 0, lastAcknowledgedAt: 0 };
  }
}

/** What a placement measurement prints as it goes. */
export type Progress = (line: string) => void;

function seconds(ms: number): number {
  return Math.round(ms / 10) / 100;
}

/** Throws when the cell failed (e.g. a master exited): the wait ends with that error. */
export type FailureCheck = () => void;

/** A wait's counts unchanged this long is a stall: the masters' last lines are printed, once per stall. */
const STALL_MS = 30_000;

/** A master's last lines: its last errors, then the last of everything it printed. */
export function lastLines(master: Cell['masters'][number]): string {
  return [...master.errors().slice(-5), ...master.tail().slice(-5)].join('\n');
}

/** The masters' last log lines (warnings and errors): why a step stalled. */
function mastersTail(cell: Cell): string {
  return cell.masters.map((m) => `the master at ${m.address}, last lines:\n${lastLines(m)}`).join('\n');
}

/**
 * Waits until `done()`, printing `status()` every 5 s, and `stalled()` once whenever the status
 * (without its leading time) stays the same for {@link STALL_MS}.
 */
async function waitFor(
  what: string,
  done: () => boolean,
  status: () => string,
  progress: Progress,
  check: FailureCheck,
  stalled: () => string,
): Promise<void> {
  let last = performance.now();
  let counts = '';
  let since = performance.now();
  let told = false;
  await until(
    what,
    () => {
      check();
      if (performance.now() - last > 5000) {
        last = performance.now();
        const line = status();
        progress(line);
        const now = line.replace(/^[\d.]+ s: /, '');
        if (now !== counts) {
          counts = now;
          since = last;
          told = false;
        } else if (!told && last - since >= STALL_MS) {
          told = true;
          progress(`no change for ${Math.round((last - since) / 1000)} s; ${stalled()}`);
        }
      }
      return done();
    },
    1_800_000,
    250,
  );
}

/** Submits `tasks` batch tasks (jobs `bsc<n>-…`) and waits for every RUNNING to be acknowledged. */
export async function measurePlaced(
  cell: Cell,
  tasks: number,
  counts: TaskCounts,
  progress: Progress,
  check: FailureCheck = () => undefined,
): Promise<{ placed_s: number; placed_per_s: number; placed_submit_s: number }> {
  const batch = new Batch(cell.batch?.framework.endpoint ?? '', cell.adminToken);
  const submittedAt = Date.now();
  try {
    const jobs = Math.ceil(tasks / MAX_RUNNING_PER_JOB);
    // One after the other: 27 jobs of 5,000 tasks at once stalled the framework's process long
    // enough to lose its coordinator session at 12,397 agents.
    for (let i = 0; i < jobs; i++) {
      const completions = Math.min(MAX_RUNNING_PER_JOB, tasks - i * MAX_RUNNING_PER_JOB);
      await batch.submit(
        BatchJobSpec.fromPartial({
          name: `bsc${i}-bench`,
          command: 'sleep infinity',
          completions,
          parallelism: completions,
          resources: { cpus: 100, mem: 64 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
        }),
      );
    }
  } finally {
    batch.close();
  }
  const placedSubmitS = seconds(Date.now() - submittedAt);
  progress(`${tasks} batch tasks submitted in ${placedSubmitS} s`);
  const acknowledged = (): number => {
    let n = 0;
    for (let i = 0; i * MAX_RUNNING_PER_JOB < tasks; i++) n += counts.of(`bsc${i}`).acknowledged;
    return n;
  };
  const running = (): number => {
    let n = 0;
    for (let i = 0; i * MAX_RUNNING_PER_JOB < tasks; i++) n += counts.of(`bsc${i}`).running;
    return n;
  };
  await waitFor(
    `${tasks} batch tasks to run`,
    () => acknowledged() >= tasks,
    () =>
      `${seconds(Date.now() - submittedAt)} s: ${running()} batch tasks running, ${acknowledged()}/${tasks} acknowledged`,
    progress,
    check,
    () => mastersTail(cell),
  );
  let lastAt = 0;
  for (let i = 0; i * MAX_RUNNING_PER_JOB < tasks; i++)
    lastAt = Math.max(lastAt, counts.of(`bsc${i}`).lastAcknowledgedAt);
  const placedMs = lastAt - submittedAt;
  return {
    placed_s: seconds(placedMs),
    placed_per_s: Math.round(tasks / (placedMs / 1000)),
    placed_submit_s: placedSubmitS,
  };
}

/** Submits `pods` AppMaster pods (jobs `psc<n>-…`) and waits for every pod's task to run. */
export async function measurePods(
  cell: Cell,
  pods: number,
  counts: TaskCounts,
  progress: Progress,
  check: FailureCheck = () => undefined,
): Promise<{ pods_s: number; pods_per_s: number; pods_submit_s: number }> {
  const appmaster = appMasterClient(cell.appmaster?.framework.endpoint ?? '', cell.adminToken);
  const jobs = Math.ceil(pods / PODS_PER_JOB);
  const submittedAt = Date.now();
  try {
    await Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        appmaster.submitJob({
          specJson: JSON.stringify({
            name: `psc${i}-bench`,
            replicas: Math.min(PODS_PER_JOB, pods - i * PODS_PER_JOB),
            resources: { cpu: { millicores: 100 }, memory: { hard: 64 * 1024 * 1024 } },
            package: { source: 'file:///galaxy-sim/none.tar.gz', version: '1', sha256: '0'.repeat(64) },
            commands: { start: 'sleep infinity' },
            deploy: { deployTimeoutS: 86_400 },
          }),
        }),
      ),
    );
  } finally {
    appmaster.close();
  }
  const podsSubmitS = seconds(Date.now() - submittedAt);
  progress(`${pods} pods submitted in ${podsSubmitS} s`);
  const running = (): number => {
    let n = 0;
    for (let i = 0; i < jobs; i++) n += counts.of(`psc${i}`).running;
    return n;
  };
  await waitFor(
    `${pods} pods to run`,
    () => running() >= pods,
    () => `${seconds(Date.now() - submittedAt)} s: ${running()}/${pods} pods running`,
    progress,
    check,
    () => mastersTail(cell),
  );
  let lastAt = 0;
  for (let i = 0; i < jobs; i++) lastAt = Math.max(lastAt, counts.of(`psc${i}`).lastRunningAt);
  const podsMs = lastAt - submittedAt;
  return { pods_s: seconds(podsMs), pods_per_s: Math.round(pods / (podsMs / 1000)), pods_submit_s: podsSubmitS };
}
