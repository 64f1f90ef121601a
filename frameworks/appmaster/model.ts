/**
 * The AppMaster's state of jobs and pods: what is persisted through the Coordinator (records) and
 * what lives only in memory (what the pods' AppWorkers last reported).
 *
 * A job has numbered **revisions** of its spec. A revision is made only by a change that pods must
 * act on (a reload, an in-place rebuild, or a replacement of containers); a change of replicas or
 * policy edits the current revision. Each pod has a **target** revision; the rolling update moves
 * targets from the old revision to the new one, `step` pods at a time.
 */
import type { JobSpec } from './spec/schema.js';
import type { WorkerReport } from '../../proto/gen/galaxy/v1/appmaster.js';

/**
 * Why a rolling update stands still. `continue` resumes every kind; past a breakpoint the update
 * does not stop at it again, and after max failures the failed pods are forgiven.
 */
export type UpdatePause =
  /** A user paused it (`galaxy job pause`). */
  | { readonly reason: 'user' }
  /** `deploy.breakpoint` pods are updated: it waits for a user to continue. */
  | { readonly reason: 'breakpoint'; readonly pods: number }
  /** A canary update moved its canaries and they are healthy: it waits for promote or abort. */
  | { readonly reason: 'canary'; readonly pods: number }
  /** `deploy.maxFailures` pods failed it and the spec asks for no rollback. */
  | { readonly reason: 'max-failures' }
  /** An AppMaster plugin paused it (`hooks.updatePlanned`): its name and why. */
  | { readonly reason: 'plugin'; readonly plugin: string; readonly message: string };

/** A rolling update in progress. */
export interface UpdateRecord {
  readonly from: number;
  readonly to: number;
  /** What the change needs of each pod: `reload`/`rebuild` in place, `replace` with a new container. */
  readonly kind: 'reload' | 'rebuild' | 'replace';
  /** Why the update stands still; undefined while it moves. */
  pause: UpdatePause | undefined;
  /** The breakpoint was reached and the user continued past it. */
  breakpointPassed: boolean;
  rollingBack: boolean;
  /** Pods that failed this update (kept across pauses and continues: `job show` lists them). */
  failed: string[];
  /** How many of `failed` a continue forgave: only later failures count towards `maxFailures`. */
  forgiven?: number;
  /** A canary update: this many pods move, then it holds until promoted (absent: not a canary). */
  canary?: number;
  /** The canary hold was promoted: the rest rolls. */
  promoted?: boolean;
  readonly startedAt: number;
}

/** A pod as persisted: enough to find and re-adopt its container after an AppMaster restart. */
export interface PodRecord {
  readonly podId: string;
  readonly index: number;
  /** The revision this pod should run. */
  revision: number;
  /** The revision whose resources its container was launched with. */
  containerRevision: number;
  taskId: string;
  agentId: string;
  hostname: string;
  ports: Record<string, number>;
  /** ms since epoch of the launch of the current container (0 while pending). */
  launchedAt: number;
  /** ms since epoch the pod was last given a new target revision. */
  retargetedAt: number;
  /** SHA-256 of the pull token of the current container (`GALAXY_POD_TOKEN`); never the token. */
  tokenSha256?: string;
  /**
   * Where the pod's persistent volumes are kept (docs/disks.md): the agent and, per volume name,
   * the disk. Set at its first launch; the pod is placed only there from then on, until the job
   * is removed or the volumes are destroyed.
   */
  kept?: { readonly agentId: string; readonly disks: Record<string, string> };
  /**
   * Persistent volumes destroyed with `--force` while a container had them mounted (`galaxy volume
   * destroy`): the agent deletes each when that container ends; listed as `destroying` until the
   * pod's next launch.
   */
  volumesDestroying?: Record<string, { readonly agentId: string; readonly disk: string }>;
}

/** One revision in a job's history. */
export interface RevisionRecord {
  readonly revision: number;
  /** ms since epoch it was made. */
  readonly at: number;
  /** Who made it. */
  readonly user: string;
  /** `submit`, the change's kind (`reload`, `rebuild`, `replace`), or `rollback`. */
  readonly kind: string;
  /** Top-level spec fields that changed. */
  readonly fields: string[];
  /** A rollback: the revision it copies. */
  readonly from?: number;
}

/** A job as persisted under `/galaxy/appmaster/jobs/<name>`. */
export interface JobRecord {
  readonly name: string;
  /** The revision new pods get and the update rolls to. */
  revision: number;
  /** Revisions still referenced (the current one, and pods' old ones during an update). */
  specs: Record<number, JobSpec>;
  state: 'running' | 'stopped';
  readonly submittedAt: number;
  update: UpdateRecord | undefined;
  pods: PodRecord[];
  nextIndex: number;
  /** The last `deploy.keepRevisions` revisions made, oldest first (absent in records from before histories). */
  history?: RevisionRecord[];
  /** Failures of this job per hostname; at `failure.blacklistAfter` the host is avoided. */
  hostFailures: Record<string, number>;
  /** ms since epoch of each host's last failure: failures expire `failure.blacklistExpiryS` after it. */
  hostFailedAt?: Record<string, number>;
  /** The user who submitted it: its quota claim and its tasks' `galaxy.user` label (absent in records from before tenancy). */
  owner?: string;
  /** Unique to this submission of the job: what owns its naming entries (absent in records from before). */
  readonly uid?: string;
}

/** What the AppMaster knows of a pod beyond its record, from its AppWorker and the master. */
export interface PodRuntime {
  report: WorkerReport | undefined;
  /** ms since epoch of the last pull. */
  lastPullAt: number;
  /** ms since epoch the pod became healthy at its target revision (0 when it is not). */
  healthySince: number;
  /** The task was killed on purpose (scale down, replace, recover, remove): not a failure. */
  killing: boolean;
  /** The pod goes away with its container (scale down, stop, remove). */
  removing: boolean;
  /** ms since epoch the last KILL was sent (it is sent again while the task lives). */
  killSentAt: number;
  /** The endpoints last published for this pod, as JSON ('' = none). */
  published: string;
  /** Commands waiting for the pod's AppWorker: exec id → command and its waiter. */
  execs: Map<string, PendingExec>;
}

/** An exec sent to (or waiting for) an AppWorker. */
export interface PendingExec {
  readonly command: string;
  readonly timeoutS: number;
  readonly resolve: (result: { exitCode: number; stdout: string; stderr: string }) => void;
}

/** A pod: its record and its runtime. */
export interface Pod {
  readonly record: PodRecord;
  readonly runtime: PodRuntime;
}

/** A new runtime for a pod nobody has heard from yet. */
export function newRuntime(): PodRuntime {
  return {
    report: undefined,
    lastPullAt: 0,
    healthySince: 0,
    killing: false,
    removing: false,
    killSentAt: 0,
    published: '',
    execs: new Map(),
  };
}

/** The phase `job show` prints for a pod. */
export function podPhase(pod: Pod): string {
  if (pod.runtime.killing) return 'killing';
  if (pod.record.taskId === '') return 'pending';
  const report = pod.runtime.report;
  if (!report || report.phase === '' || report.phase === 'new') return 'launching';
  return report.phase;
}

/** The revision the pod's AppWorker has applied last (0: none yet). */
export function appliedRevision(report: WorkerReport | undefined): number {
  if (!report) return 0;
  return report.dataRevision || report.revision;
}

/** True when the pod runs its target revision and passes its health check. */
export function isHealthyAtTarget(pod: Pod): boolean {
  const report = pod.runtime.report;
  return (
    !pod.runtime.killing &&
    pod.record.taskId !== '' &&
    report !== undefined &&
    report.phase === 'running' &&
    report.health === 'healthy' &&
    appliedRevision(report) === pod.record.revision
  );
}
