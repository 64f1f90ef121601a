/**
 * The replayer: starts a cell (./cell.ts) with one agent per trace machine, submits the trace's
 * task groups through the real frameworks at their arrival times divided by the speed-up, and
 * measures (./replay-measure.ts) until every submitted task has run or the wall-time limit passes.
 * Services are removed once their traced time is over. The master's preemptions come from its
 * event log at the end.
 */
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Batch } from '../cli/batch-client.js';
import { appMasterClient, type AppMasterApi } from '../cli/operator-client.js';
import { Probe } from '../bench/failover/probe.js';
import { openCoordinator } from '../core/coordinator/index.js';
import { AGENTS_PREFIX } from '../master/registry/registry.js';
import { startCell, until, type Cell } from './cell.js';
import { parseMachinesCsv, DEFAULT_SCALE } from './machines.js';
import { ReplayMeasure, percentile, utilization, type ReplaySample } from './replay-measure.js';
import { batchSpec, isService, serviceSpec } from './submit.js';
import { taskCount, traceDelays, type TaskGroup, type Workload } from './trace/workload.js';

/** How a replay runs. */
export interface ReplayOptions {
  readonly workload: Workload;
  /** The machines: a machines.csv path, its first `agents` rows. */
  readonly machinesCsv: string;
  readonly agents: number;
  readonly speedup: number;
  /** Give up waiting for tasks after this many wall seconds (the result says how many never ran). */
  readonly maxWallS: number;
  /** Wall seconds to keep sampling after the last task first ran. */
  readonly tailS?: number;
  readonly shards?: number;
  readonly cpuProfDir?: string;
  /** How agents register (./cell.ts); default `join`. */
  readonly identity?: 'join' | 'credential';
  /** Progress lines (stderr). */
  readonly progress?: (line: string) => void;
  /**
   * Reclamation: the agents report revocable estimates from the usage model and evict revocable
   * tasks at their load peaks (./sim-reclaim.ts); the batch framework takes revocable offers.
   */
  readonly oversubscribe?: boolean;
}

/** The percentiles the report compares. */
export const PERCENTILES = [50, 75, 90, 95, 99] as const;

/** What a replay found. */
export interface ReplayResult {
  readonly source: string;
  readonly agents: number;
  readonly speedup: number;
  readonly groups: number;
  readonly tasks: number;
  readonly started: number;
  /** Groups some of whose tasks never ran (the first 20). */
  readonly notRun: readonly { group: string; band: string; tasks: number }[];
  readonly placements: number;
  readonly kills: number;
  readonly preemptions: number;
  readonly registerS: number;
  /** Every agent registered → the master's registry has stored every one (the trace starts then). */
  readonly storedS: number;
  readonly wallS: number;
  /** Galaxy's submit → running, and the trace scheduler's, trace seconds, by percentile. */
  readonly galaxyDelayS: Record<string, number>;
  /** How long the frameworks took to accept a submission (the first part of the delay), trace seconds. */
  readonly submitAckS: Record<string, number>;
  readonly traceDelayS: Record<string, number>;
  readonly traceFirstDelayS: Record<string, number>;
  readonly scheduler: string;
  readonly samples: readonly ReplaySample[];
  /** Preemptions per sample second (from the master's event log). */
  readonly preemptionsPerSample: readonly number[];
  readonly masterRssMib: number;
  readonly simMemoryPerAgentKib: number;
  readonly cpuProfile?: string;
  readonly oversubscribe: boolean;
  /** Mean allocated cpu utilization, %: of regular tasks, and with the revocable ones, over `utilWindow` (./replay-measure.ts `utilization`). */
  readonly utilAllocPct: number;
  readonly utilWithReclaimPct: number;
  readonly utilWindow: 'pending' | 'running';
  /** Placements on revocable resources, and their evictions by the agents' QoS. */
  readonly revocableTasks: number;
  readonly revocableEvictions: number;
  /** Evicted tasks whose index ran again before the replay ended. */
  readonly rerunAfterEviction: number;
  /** Retries the batch jobs used (Σ `retried`): failures only; an evicted task is run again without one. */
  readonly batchRetries: number;
}

function byPercentile(values: readonly number[]): Record<string, number> {
  return Object.fromEntries(PERCENTILES.map((p) => [`p${p}`, Math.round(percentile(values, p) * 100) / 100]));
}

/** The RSS of process `pid`, MiB (Linux). */
export function rssMib(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Math.round(Number(line?.split(/\s+/)[1]) / 1024);
  } catch {
    return NaN;
  }
}

/** Waits until the master's registry holds `agents` admitted agents' keys; resolves with the seconds waited. */
async function untilStored(coordinatorUrl: string, agents: number): Promise<number> {
  const started = performance.now();
  const coordinator = await openCoordinator(coordinatorUrl);
  try {
    await until(
      `the master to store ${agents} agents`,
      async () => (await coordinator.list(AGENTS_PREFIX).catch(() => [])).length >= agents,
      600_000,
      1000,
    );
  } finally {
    await coordinator.close();
  }
  return (performance.now() - started) / 1000;
}

/** Submits one group through its framework; resolves once the framework accepted it. */
async function submit(group: TaskGroup, batch: Batch, appmaster: AppMasterApi): Promise<void> {
  if (isService(group)) await appmaster.submitJob({ specJson: serviceSpec(group) });
  else await batch.submit(batchSpec(group));
}

/** Replays `options.workload`; every process and directory it made is gone when it settles. */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { workload, speedup } = options;
  const say = options.progress ?? (() => undefined);
  const machines = parseMachinesCsv(readFileSync(options.machinesCsv, 'utf8'), DEFAULT_SCALE, options.agents);
  const capacity = machines.reduce((c, m) => ({ cpus: c.cpus + m.info.total.cpus, mem: c.mem + m.info.total.mem }), {
    cpus: 0,
    mem: 0,
  });
  const traceStartS = workload.groups[0]?.submitS ?? 0;
  let measure: ReplayMeasure | undefined;
  const early: Parameters<ReplayMeasure['taskEvents']>[0][] = [];
  const started = performance.now();
  const cell: Cell = await startCell({
    agents: machines.length,
    machineArgs: [
      '--machines',
      options.machinesCsv,
      '--agents',
      String(machines.length),
      ...(options.oversubscribe === true ? ['--oversubscribe'] : []),
    ],
    speedup,
    shards: options.shards,
    identity: options.identity,
    frameworks: true,
    cpuProfDir: options.cpuProfDir,
    onTaskEvents: (events) => {
      if (measure) measure.taskEvents(events);
      else early.push(events);
    },
  });
  const batch = new Batch(cell.batch?.framework.endpoint ?? '', cell.adminToken);
  const appmaster = appMasterClient(cell.appmaster?.framework.endpoint ?? '', cell.adminToken);
  const probe = new Probe(cell.master.address, cell.adminToken);
  try {
    await until(
      `${machines.length} agents to register`,
      () => {
        const failure = cell.shards.failure();
        if (failure) throw new Error(failure);
        return cell.shards.connected() === machines.length;
      },
      600_000,
    );
    const registerS = (performance.now() - started) / 1000;
    say(`${machines.length} agents registered in ${registerS.toFixed(1)} s`);
    // The trace's cell had been running long before the trace began: it starts once the master
    // has stored every admitted agent, not while those writes still queue ahead of the jobs'.
    const storedS = await untilStored(cell.coordinator, machines.length);
    say(`the master's registry stored them ${storedS.toFixed(1)} s later`);
    const begin = Date.now();
    measure = new ReplayMeasure(workload.groups, capacity, speedup, begin, traceStartS);
    for (const events of early.splice(0)) measure.taskEvents(events);
    const m = measure;
    const failures: string[] = [];
    const removals: NodeJS.Timeout[] = [];
    /** How long each submit call took, trace seconds: part of the pending delay. */
    const submitAcksS: number[] = [];
    // Submissions at their arrival times, without waiting for one another.
    const submissions = (async () => {
      for (const group of workload.groups) {
        const due = begin + ((group.submitS - traceStartS) * 1000) / speedup;
        if (due > Date.now()) await sleep(due - Date.now());
        const at = Date.now();
        m.submitted(group.name, at);
        submit(group, batch, appmaster).then(
          () => {
            submitAcksS.push(((Date.now() - at) / 1000) * speedup);
          },
          (error: unknown) => {
            failures.push(`${group.name}: ${String(error)}`);
          },
        );
        if (isService(group)) {
          // Removed once its traced time is over, but not before its pods ran: a service removed
          // while its submit was still slow never ran, and the replay waited for it to the end.
          const remove = (): void => {
            if (!m.ran(group.name)) {
              removals.push(setTimeout(remove, 1000));
              return;
            }
            appmaster.removeJob({ name: group.name }).catch(() => undefined);
          };
          removals.push(setTimeout(remove, (group.durationS * 1000) / speedup));
        }
      }
    })();
    const tasks = taskCount(workload);
    let doneAt: number | undefined;
    let lastSay = 0;
    for (;;) {
      await sleep(1000);
      const sample = m.sample(Date.now());
      const { submitted, started: ran } = m.progress();
      if (Date.now() - lastSay > 5000) {
        lastSay = Date.now();
        say(
          `t=${sample.wallS}s trace ${sample.traceS}s: submitted ${submitted}/${tasks}, ran ${ran}, running ${sample.running}, pending ${sample.pending}, cpu ${(sample.cpuUtil * 100).toFixed(1)}% (revocable ${(sample.revocableCpuUtil * 100).toFixed(1)}%), evicted ${m.revocableEvictions}`,
        );
      }
      const failure = cell.shards.failure();
      if (failure) throw new Error(failure);
      if (failures.length > 0) throw new Error(`submissions refused:\n${failures.slice(0, 5).join('\n')}`);
      if (doneAt === undefined && submitted === tasks && ran === tasks) doneAt = Date.now();
      if (doneAt !== undefined && Date.now() - doneAt >= (options.tailS ?? 3) * 1000) break;
      if (sample.wallS > options.maxWallS) {
        say(
          `stopping after ${options.maxWallS} s of wall time: ${tasks - ran} tasks never ran: ${JSON.stringify(m.notRun().slice(0, 10))}`,
        );
        break;
      }
    }
    await submissions;
    const events = await probe.events('preemption').catch(() => []);
    const preemptionsPerSample = m.samples.map(() => 0);
    for (const event of events) {
      const i = Math.floor((event.time * 1000 - begin) / 1000);
      if (i >= 0 && i < preemptionsPerSample.length) preemptionsPerSample[i] = (preemptionsPerSample[i] ?? 0) + 1;
    }
    const masterRssMib = rssMib(cell.master.child.pid);
    const batchRetries = (await batch.list()).reduce((n, job) => n + job.retried, 0);
    const util = utilization(m.samples);
    for (const timer of removals) clearTimeout(timer);
    return {
      source: workload.source,
      agents: machines.length,
      speedup,
      groups: workload.groups.length,
      tasks,
      started: m.progress().started,
      notRun: m.notRun().slice(0, 20),
      placements: m.placements,
      kills: m.kills,
      preemptions: events.length,
      registerS: Math.round(registerS * 10) / 10,
      storedS: Math.round(storedS * 10) / 10,
      wallS: Math.round((Date.now() - begin) / 100) / 10,
      galaxyDelayS: byPercentile(m.pendingDelays()),
      submitAckS: byPercentile(submitAcksS),
      traceDelayS: byPercentile(traceDelays(workload).all),
      traceFirstDelayS: byPercentile(traceDelays(workload).first),
      scheduler: workload.scheduler,
      samples: m.samples,
      preemptionsPerSample,
      masterRssMib,
      simMemoryPerAgentKib: cell.shards.memoryPerAgentKib(),
      oversubscribe: options.oversubscribe === true,
      utilAllocPct: util.allocPct,
      utilWithReclaimPct: util.withReclaimPct,
      utilWindow: util.window,
      revocableTasks: m.revocablePlacements,
      revocableEvictions: m.revocableEvictions,
      rerunAfterEviction: m.rerunAfterEviction,
      batchRetries,
    };
  } finally {
    probe.close();
    batch.close();
    appmaster.close();
    await cell.stop();
  }
}
