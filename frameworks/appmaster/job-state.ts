/**
 * One job in the AppMaster's memory: its persisted record plus each pod's runtime.
 */
import { GalaxyError } from '../../core/errors.js';
import { keptRevisions } from './history.js';
import { isHealthyAtTarget, newRuntime, type JobRecord, type Pod, type PodRecord, type PodRuntime } from './model.js';
import type { JobSpec } from './spec/schema.js';

/** Where a pod's container was placed (see {@link JobState.launchPod}). */
export type LaunchedContainer = Pick<PodRecord, 'taskId' | 'tokenSha256' | 'agentId' | 'hostname' | 'ports'>;

/** A job and its pods. */
export class JobState {
  private readonly runtimes = new Map<string, PodRuntime>();
  /** Pod id → its record: finding a pod is not a scan of the job's pods (thousands of them). */
  private readonly records = new Map<string, PodRecord>();
  /** Why pods wait, from the last placement attempt. */
  pending: { reason: string; hosts: number }[] = [];

  constructor(readonly record: JobRecord) {
    for (const pod of record.pods) {
      this.runtimes.set(pod.podId, newRuntime());
      this.records.set(pod.podId, pod);
    }
  }

  /** The spec pods converge to. */
  get spec(): JobSpec {
    const spec = this.record.specs[this.record.revision];
    if (!spec)
      throw new GalaxyError('GALAXY_E_INTERNAL', `job ${this.record.name} lost revision ${this.record.revision}`);
    return spec;
  }

  /** The spec of `revision`, falling back to the current one. */
  specOf(revision: number): JobSpec {
    return this.record.specs[revision] ?? this.spec;
  }

  /** Every pod, by index. */
  pods(): Pod[] {
    return this.record.pods.map((record) => ({ record, runtime: this.runtime(record.podId) }));
  }

  /** One pod, or a coded error. */
  pod(podId: string): Pod {
    const record = this.podRecord(podId);
    if (!record)
      throw new GalaxyError('GALAXY_E_POD_UNKNOWN', `job ${this.record.name} has no pod "${podId.slice(0, 100)}"`);
    return { record, runtime: this.runtime(podId) };
  }

  /** One pod's record, if the job has the pod. */
  podRecord(podId: string): PodRecord | undefined {
    return this.records.get(podId);
  }

  /** Pods with no container. */
  pendingPods(): Pod[] {
    return this.pods().filter((p) => p.record.taskId === '' && !p.runtime.killing);
  }

  /** Adds a pod at the current revision. */
  addPod(now: number): Pod {
    const index = this.record.nextIndex++;
    const record: PodRecord = {
      podId: `${this.record.name}-${index}`,
      index,
      revision: this.record.revision,
      containerRevision: this.record.revision,
      taskId: '',
      agentId: '',
      hostname: '',
      ports: {},
      launchedAt: 0,
      retargetedAt: now,
    };
    this.record.pods.push(record);
    this.records.set(record.podId, record);
    this.runtimes.set(record.podId, newRuntime());
    return { record, runtime: this.runtime(record.podId) };
  }

  /** Forgets a pod whose container is gone. */
  dropPod(podId: string): void {
    this.record.pods = this.record.pods.filter((p) => p.podId !== podId);
    this.records.delete(podId);
    this.runtimes.delete(podId);
  }

  /** Revisions no pod and no update refers to are dropped from the record. */
  pruneSpecs(): void {
    const keep = new Set<number>([this.record.revision, ...keptRevisions(this.record)]);
    const previous = this.previousRevision();
    if (previous !== undefined) keep.add(previous);
    if (this.record.update) {
      keep.add(this.record.update.from);
      keep.add(this.record.update.to);
    }
    for (const pod of this.record.pods) {
      keep.add(pod.revision);
      keep.add(pod.containerRevision);
    }
    this.record.specs = Object.fromEntries(Object.entries(this.record.specs).filter(([key]) => keep.has(Number(key))));
  }

  /** The newest revision older than the current one that is still stored (what a rollback returns to). */
  previousRevision(): number | undefined {
    const older = Object.keys(this.record.specs)
      .map(Number)
      .filter((r) => r < this.record.revision);
    return older.length === 0 ? undefined : Math.max(...older);
  }

  /**
   * The pod's container is placed: it runs `taskId` on the agent, with the ports it was given and
   * the hash of its pull token, at its target revision's resources; nothing is heard of it yet.
   */
  launchPod(pod: Pod, container: LaunchedContainer, now: number): void {
    Object.assign(pod.record, { ...container, launchedAt: now, containerRevision: pod.record.revision });
    pod.runtime.report = undefined;
    pod.runtime.healthySince = 0;
  }

  /** The pod has no container any more (it ended, its agent is lost, or its launch was refused): it waits for a new one. */
  resetPod(pod: Pod): void {
    Object.assign(pod.record, { taskId: '', agentId: '', hostname: '', ports: {}, launchedAt: 0 });
    Object.assign(pod.runtime, { report: undefined, killing: false, healthySince: 0, killSentAt: 0 });
  }

  /** A pod of this job failed on `hostname` (its container ended, or it timed out deploying a proven revision), at `now`. */
  countHostFailure(hostname: string, now = Date.now()): void {
    if (hostname === '') return;
    this.record.hostFailures[hostname] = (this.record.hostFailures[hostname] ?? 0) + 1;
    this.record.hostFailedAt = { ...this.record.hostFailedAt, [hostname]: now };
  }

  /**
   * Forgets the failures of hosts whose last one is `failure.blacklistExpiryS` old (0: never), or
   * of `hostname` (every host when '') on request; true when something was forgotten.
   */
  forgetHostFailures(now: number, hostname?: string): boolean {
    const expiryMs = this.spec.failure.blacklistExpiryS * 1000;
    const at = this.record.hostFailedAt ?? {};
    const gone = Object.keys(this.record.hostFailures).filter((host) =>
      hostname === undefined ? expiryMs > 0 && now - (at[host] ?? 0) >= expiryMs : hostname === '' || hostname === host,
    );
    if (gone.length === 0) return false;
    const keep = <T>(entries: Record<string, T>) =>
      Object.fromEntries(Object.entries(entries).filter(([host]) => !gone.includes(host)));
    this.record.hostFailures = keep(this.record.hostFailures);
    this.record.hostFailedAt = keep(at);
    return true;
  }

  /** True when some pod runs `revision` healthy: it works, so a failure of it elsewhere is its host's. */
  revisionProven(revision: number): boolean {
    return this.pods().some((p) => p.record.revision === revision && isHealthyAtTarget(p));
  }

  /** True when `hostname` failed this job too often. */
  blacklisted(hostname: string): boolean {
    return (this.record.hostFailures[hostname] ?? 0) >= this.spec.failure.blacklistAfter;
  }

  private runtime(podId: string): PodRuntime {
    let runtime = this.runtimes.get(podId);
    if (!runtime) {
      runtime = newRuntime();
      this.runtimes.set(podId, runtime);
    }
    return runtime;
  }
}
