/**
 * The batch framework's Prometheus metrics with its own prom-client registry: jobs by state,
 * completions (indexes that succeeded or ran out of retries), and task ends by outcome with the
 * retries they cause. Job gauges are read from the jobs when scraped; the counters count ends as
 * the scheduler hears them.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { BatchJobState } from '../../proto/gen/galaxy/v1/batch.js';
import type { JobRecord } from './job.js';

/** The state label of a job state: `pending`, `running`, `succeeded`, `failed`, `cancelled`. */
function stateLabel(state: BatchJobState): string {
  return ((BatchJobState as Record<number, string | undefined>)[state] ?? 'UNKNOWN')
    .replace(/^BATCH_/, '')
    .toLowerCase();
}

/** The batch framework's metrics. */
export class BatchMetrics {
  readonly registry = new Registry();
  /** Task ends by outcome: succeeded, failed, preempted, revoked (evicted from revocable resources). */
  readonly taskEnds: Counter<'outcome'>;
  /** Failed tasks whose index runs again (a retry used). */
  readonly retries: Counter;

  constructor(jobs: () => Iterable<JobRecord>) {
    const registers = [this.registry];
    new Gauge({
      name: 'galaxy_batch_jobs',
      help: 'Batch jobs by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const state of ['pending', 'running', 'succeeded', 'failed', 'cancelled']) this.set({ state }, 0);
        for (const job of jobs()) this.inc({ state: stateLabel(job.state) });
      },
    });
    new Gauge({
      name: 'galaxy_batch_completions',
      help: 'Completion indexes of the jobs held, by outcome: succeeded, failed (out of retries), or total asked',
      labelNames: ['outcome'],
      registers,
      collect() {
        let succeeded = 0;
        let failed = 0;
        let total = 0;
        for (const job of jobs()) {
          succeeded += job.succeeded.size;
          failed += job.failed.size;
          total += job.spec.completions;
        }
        this.set({ outcome: 'succeeded' }, succeeded);
        this.set({ outcome: 'failed' }, failed);
        this.set({ outcome: 'total' }, total);
      },
    });
    this.taskEnds = new Counter({
      name: 'galaxy_batch_task_ends_total',
      help: 'Batch tasks that ended, by outcome: succeeded, failed, preempted, revoked',
      labelNames: ['outcome'],
      registers,
    });
    this.retries = new Counter({
      name: 'galaxy_batch_retries_total',
      help: 'Failed batch tasks retried (each uses one of its index retries)',
      registers,
    });
    for (const outcome of ['succeeded', 'failed', 'preempted', 'revoked']) this.taskEnds.inc({ outcome }, 0);
  }
}
