/**
 * Jobs persisted through the {@link Coordinator}, one key per job, written whole. The AppMaster
 * that leads is the only writer; writes of one job are serialized so the newest state always
 * lands last. A job's record must fit one coordinator key ({@link MAX_VALUE_BYTES}), so a submit
 * checks it first ({@link checkRecordFits}) and stores the job before it exists in memory
 * ({@link JobStore.store}).
 */
import { MAX_VALUE_BYTES, type Coordinator } from '../../core/coordinator/coordinator.js';
import { GalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { JobRecord, UpdatePause, UpdateRecord } from './model.js';

/** Where jobs live in the coordinator. */
export const JOBS_PREFIX = '/galaxy/appmaster/jobs';

/** Room a pod's record takes once its container runs, beyond a fresh one: task and agent ids, host, token hash. */
export const LAUNCHED_POD_EXTRA_BYTES = 256;

/**
 * Throws GALAXY_E_TOO_LARGE, naming the limit, when `record` with `replicas` running pods would not
 * fit one coordinator key.
 */
export function checkRecordFits(record: JobRecord, replicas: number, freshPodBytes: number): void {
  const base = Buffer.byteLength(JSON.stringify({ ...record, pods: [] }), 'utf8');
  const size = base + replicas * (freshPodBytes + LAUNCHED_POD_EXTRA_BYTES);
  if (size <= MAX_VALUE_BYTES) return;
  throw new GalaxyError(
    'GALAXY_E_TOO_LARGE',
    `job ${record.name} would take about ${size} bytes in the coordinator (its spec ${base} bytes, and ${replicas} pods); ` +
      `a job is one coordinator key of at most ${MAX_VALUE_BYTES} bytes (ZooKeeper's jute.maxbuffer, 1 MiB by default): ` +
      'make the spec smaller (move data into a package) or split the job',
  );
}

/** An update as AppMasters before typed pauses stored it: a flag and a text. */
type LegacyUpdate = Omit<UpdateRecord, 'pause'> & { paused?: boolean; pausedReason?: string };

/** A stored record, upgraded in place when an AppMaster from before typed pauses wrote it. */
export function upgradeRecord(record: JobRecord): JobRecord {
  const update = record.update as (LegacyUpdate & Partial<UpdateRecord>) | undefined;
  if (!update || !('paused' in update)) return record;
  const { paused, pausedReason, ...rest } = update;
  record.update = { ...rest, pause: paused === true ? legacyPause(pausedReason ?? '') : undefined };
  return record;
}

/** The pause an old record's text names (the texts those AppMasters wrote). */
function legacyPause(text: string): UpdatePause {
  const breakpoint = /^breakpoint after (\d+) pods?$/.exec(text);
  if (breakpoint) return { reason: 'breakpoint', pods: Number(breakpoint[1]) };
  return text === 'max failures' ? { reason: 'max-failures' } : { reason: 'user' };
}

/** A save queued behind a job's write in flight: it writes the job as it is when its turn comes. */
interface QueuedSave {
  job: JobRecord;
  promise: Promise<void>;
}

/** Reads and writes job records. */
export class JobStore {
  private readonly writes = new Map<string, Promise<void>>();
  /**
   * Per job, the save waiting for the write in flight. Later saves join it (group commit): a job
   * of thousands of pods changed by every placement round is written once per write's time, not
   * once per change, each write carrying the state of its own time.
   */
  private readonly queued = new Map<string, QueuedSave>();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly log: Logger,
  ) {}

  /** Every stored job. A record that cannot be read is logged with its key and skipped. */
  async loadAll(): Promise<JobRecord[]> {
    const names = await this.coordinator.list(JOBS_PREFIX);
    const jobs: JobRecord[] = [];
    for (const name of names) {
      const stored = await this.coordinator.get(`${JOBS_PREFIX}/${name}`);
      if (!stored) continue;
      try {
        jobs.push(upgradeRecord(JSON.parse(stored.value) as JobRecord));
      } catch (error) {
        this.log.error(
          { job: name, key: `${JOBS_PREFIX}/${name}`, err: String(error) },
          'stored job cannot be read; skipped',
        );
      }
    }
    return jobs;
  }

  /**
   * Stores `job` as it is when its write begins (queued after the write of the same job in flight,
   * and joined by later saves until it begins); a failure is logged.
   */
  save(job: JobRecord): Promise<void> {
    return this.store(job).catch(() => undefined);
  }

  /** As {@link save}, but rejects when the write fails (a submit must not report a job it could not store). */
  store(job: JobRecord): Promise<void> {
    const waiting = this.queued.get(job.name);
    if (waiting) {
      waiting.job = job;
      return waiting.promise;
    }
    const save: QueuedSave = { job, promise: Promise.resolve() };
    // The write runs on a later turn, after the writes queued before it; the saves joining it meanwhile set `save.job`.
    save.promise = this.enqueue(job.name, () => {
      if (this.queued.get(job.name) === save) this.queued.delete(job.name);
      return this.coordinator.put(`${JOBS_PREFIX}/${job.name}`, JSON.stringify(save.job)).then(() => undefined);
    });
    this.queued.set(job.name, save);
    return save.promise;
  }

  /** Forgets `name`. */
  remove(name: string): Promise<void> {
    // A save queued before the removal stays before it; a later one is queued after it.
    this.queued.delete(name);
    return this.enqueue(name, () => this.coordinator.delete(`${JOBS_PREFIX}/${name}`)).catch(() => undefined);
  }

  /** Resolves once every queued write has landed. */
  async flush(): Promise<void> {
    await Promise.all(this.writes.values());
  }

  /** Queues `write` after the writes of `name` before it; the result rejects with its failure, the queue goes on. */
  private enqueue(name: string, write: () => Promise<void>): Promise<void> {
    const previous = this.writes.get(name) ?? Promise.resolve();
    const result = previous.then(write);
    const settled = result.catch((error: unknown) => {
      this.log.error({ job: name, err: String(error) }, 'job could not be stored');
    });
    this.writes.set(name, settled);
    void settled.then(() => {
      if (this.writes.get(name) === settled) this.writes.delete(name);
    });
    return result;
  }
}
