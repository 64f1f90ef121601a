/**
 * The AppMaster's Prometheus metrics with its own prom-client registry: jobs by state, pods by
 * phase and by health, each job's rolling-update progress, and how long AppWorker pulls take.
 * Read from the jobs when scraped; a removed job's series go with it (labels stay bounded by the
 * jobs held).
 */
import { Gauge, Histogram, Registry } from 'prom-client';
import type { JobState } from './job-state.js';
import { jobStatus } from './status.js';

/** The AppMaster's metrics. */
export class AppMasterMetrics {
  readonly registry = new Registry();
  /** Time to answer one AppWorker pull (held pulls included: they wait for a change or the interval). */
  readonly pullSeconds: Histogram;

  constructor(jobs: () => readonly JobState[], now: () => number) {
    const registers = [this.registry];
    // One status per job per scrape, shared by every gauge (a scrape collects them at once).
    let reading: Promise<ReturnType<typeof jobStatus>[]> | undefined;
    const statuses = () =>
      (reading ??= Promise.resolve()
        .then(() => jobs().map((job) => jobStatus(job, now())))
        .finally(() => {
          reading = undefined;
        }));
    new Gauge({
      name: 'galaxy_appmaster_jobs',
      help: 'Service jobs by state: running, updating, paused, rolling-back, stopped',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const state of ['running', 'updating', 'paused', 'rolling-back', 'stopped']) this.set({ state }, 0);
        for (const job of await statuses()) this.inc({ state: job.state });
      },
    });
    new Gauge({
      name: 'galaxy_appmaster_pods',
      help: 'Pods by phase',
      labelNames: ['phase'],
      registers,
      async collect() {
        this.reset();
        for (const job of await statuses()) for (const pod of job.pods) this.inc({ phase: pod.phase });
      },
    });
    new Gauge({
      name: 'galaxy_appmaster_pods_health',
      help: 'Pods by health: healthy, unhealthy, unknown',
      labelNames: ['health'],
      registers,
      async collect() {
        this.reset();
        for (const health of ['healthy', 'unhealthy', 'unknown']) this.set({ health }, 0);
        for (const job of await statuses()) for (const pod of job.pods) this.inc({ health: pod.health });
      },
    });
    new Gauge({
      name: 'galaxy_appmaster_update_progress_ratio',
      help: "A job's rolling update: pods updated (and healthy for the interval) out of its pods; only while it updates",
      labelNames: ['job'],
      registers,
      async collect() {
        this.reset();
        for (const job of await statuses())
          if (job.update) this.set({ job: job.name }, job.update.total > 0 ? job.update.updated / job.update.total : 0);
      },
    });
    this.pullSeconds = new Histogram({
      name: 'galaxy_appmaster_pull_duration_seconds',
      help: 'Time to answer one AppWorker pull (a held pull waits for a change or the pull interval)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }
}
