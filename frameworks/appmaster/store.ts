/**
 * Jobs persisted through the {@link Coordinator}, one key per job, written whole. The AppMaster
 * that leads is the only writer; writes of one job are serialized so the newest state always
 * lands last.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import type { JobRecord } from './model.js';

/** Where jobs live in the coordinator. */
export const JOBS_PREFIX = '/galaxy/appmaster/jobs';

/** Reads and writes job records. */
export class JobStore {
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly log: Logger,
  ) {}

  /** Every stored job. A record that cannot be read is logged and skipped. */
  async loadAll(): Promise<JobRecord[]> {
    const names = await this.coordinator.list(JOBS_PREFIX);
    const jobs: JobRecord[] = [];
    for (const name of names) {
      const stored = await this.coordinator.get(`${JOBS_PREFIX}/${name}`);
      if (!stored) continue;
      try {
        jobs.push(JSON.parse(stored.value) as JobRecord);
      } catch (error) {
        this.log.error({ job: name, err: String(error) }, 'stored job cannot be read; skipped');
      }
    }
    return jobs;
  }

  /** Stores `job` as it is now (the write is queued after earlier writes of the same job). */
  save(job: JobRecord): Promise<void> {
    const value = JSON.stringify(job);
    return this.enqueue(job.name, () =>
      this.coordinator.put(`${JOBS_PREFIX}/${job.name}`, value).then(() => undefined),
    );
  }

  /** Forgets `name`. */
  remove(name: string): Promise<void> {
    return this.enqueue(name, () => this.coordinator.delete(`${JOBS_PREFIX}/${name}`));
  }

  /** Resolves once every queued write has landed. */
  async flush(): Promise<void> {
    await Promise.all(this.writes.values());
  }

  private enqueue(name: string, write: () => Promise<void>): Promise<void> {
    const previous = this.writes.get(name) ?? Promise.resolve();
    const next = previous.then(write).catch((error: unknown) => {
      this.log.error({ job: name, err: String(error) }, 'job could not be stored');
    });
    this.writes.set(name, next);
    void next.then(() => {
      if (this.writes.get(name) === next) this.writes.delete(name);
    });
    return next;
  }
}
