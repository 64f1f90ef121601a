/**
 * The tenancy checks of a multi-tenant framework (the AppMaster, batch, MapReduce): authorities
 * on a job's pool (its band's too) and on other users' jobs, admission of a job's footprint
 * against its owner's quota, and the label that names whose a task is (informational: the master
 * accounts a task to its role's owner). One instance per framework; claims are keyed
 * `<framework>/<job>` (see `docs/tenancy.md`).
 */
import type { Principal } from '../../core/auth/principal.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Band } from '../../core/bands.js';
import { bandAuthority, GrantStore, type Authority } from '../../core/tenancy/grants.js';
import { checkJobAccess, jobAccess, type OwnedJob } from '../../core/tenancy/ownership.js';
import { DISK_MEDIA } from '../../core/disks.js';
import { overLimit, QUOTA_RESOURCES, QuotaStore, sumClaims, type Footprint } from '../../core/tenancy/quotas.js';
import type { Label } from '../../proto/gen/galaxy/v1/common.js';

/** The task label naming the user a task runs for. */
export const USER_LABEL = 'galaxy.user';

/** Per-task (per-pod) resources, as a footprint counts them: `disk` includes the media's bytes. */
export interface TaskShape {
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
  /** Bytes of disk volumes per medium; absent is none. */
  readonly ssd?: number;
  readonly hdd?: number;
  readonly tmpfs?: number;
}

/** `replicas` tasks of `shape` in `pool`. */
export function footprintOf(shape: TaskShape, replicas: number, pool: string): Footprint {
  const footprint: Footprint = {
    cpus: shape.cpus * replicas,
    mem: shape.mem * replicas,
    disk: shape.disk * replicas,
    replicas,
    pool,
  };
  for (const medium of DISK_MEDIA) if (shape[medium]) footprint[medium] = (shape[medium] ?? 0) * replicas;
  return footprint;
}

/** Per resource, the larger of the footprints (an update holds old and new pods for a while). */
export function largestFootprint(first: Footprint, ...rest: Footprint[]): Footprint {
  return rest.reduce((max, f) => {
    const out: Footprint = { ...max, pool: f.pool };
    for (const r of QUOTA_RESOURCES) {
      const most = Math.max(max[r] ?? 0, f[r] ?? 0);
      if (most > 0 || max[r] !== undefined || f[r] !== undefined) out[r] = most;
    }
    return out;
  }, first);
}

/** The `galaxy.user` label of a task run for `owner`. */
export function userLabel(owner: string): Label {
  return { key: USER_LABEL, value: owner };
}

/** A claim change waiting for its write: a footprint admits, none releases. */
interface ClaimChange {
  readonly claimKey: string;
  readonly footprint?: Footprint;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Authorities and quotas as one framework sees them. */
export class JobTenancy {
  readonly grants: GrantStore;
  readonly quotas: QuotaStore;
  /**
   * Per user, the claim changes waiting for the write in flight. A user's claims are one
   * coordinator record written with compare-and-set: hundreds of submits at once (a trace replay,
   * a pipeline's fan-out) would collide on it until they ran out of retries, and taking turns
   * would cost a write each. So the changes made meanwhile go together in the next write.
   */
  private readonly claimQueues = new Map<string, ClaimChange[]>();

  constructor(
    coordinator: Coordinator,
    /** The framework's name: the first part of its claim keys. */
    readonly framework: string,
  ) {
    this.grants = new GrantStore(coordinator);
    this.quotas = new QuotaStore(coordinator);
  }

  /** Rejects with GALAXY_E_PERMISSION_DENIED unless `principal` holds `authority` in `pool`. */
  authorize(principal: Principal, pool: string, authority: Authority): Promise<void> {
    return this.grants.authorize(principal, pool, authority);
  }

  /**
   * Rejects with GALAXY_E_PERMISSION_DENIED unless `caller` may do what needs `authority` on
   * `job`: the authority in the job's pool, and `job:any` there too for another user's job
   * (`core/tenancy/ownership.ts`).
   */
  async authorizeJob(caller: Principal, job: OwnedJob, authority: Authority): Promise<void> {
    checkJobAccess(caller, caller.admin ? undefined : await this.grants.grantsFor(caller), job, authority);
  }

  /** Which jobs `caller` may see in a listing (those it may show), its grants read once. */
  async jobFilter(caller: Principal): Promise<(job: Omit<OwnedJob, 'name'>) => boolean> {
    const grants = caller.admin ? undefined : await this.grants.grantsFor(caller);
    return (job) => jobAccess(caller, grants, job, 'job:list').allowed;
  }

  /**
   * Rejects with GALAXY_E_PERMISSION_DENIED unless `principal` may run work of `band` in `pool`
   * (`band:production` for production and unspecified, `band:monitoring`; nothing for lower bands).
   */
  async authorizeBand(principal: Principal, pool: string, band: Band): Promise<void> {
    const authority = bandAuthority(band);
    if (authority) await this.grants.authorize(principal, pool, authority);
  }

  /** Admits job `job` of `owner` at `footprint`, or rejects with GALAXY_E_QUOTA_EXCEEDED. */
  admit(owner: string, job: string, footprint: Footprint): Promise<void> {
    return this.changeClaim(owner, this.claimKey(job), footprint);
  }

  /** What {@link admit} would say, without claiming: each resource over `owner`'s limit (none: it fits). */
  async wouldExceed(owner: string, job: string, footprint: Footprint): Promise<string[]> {
    const view = await this.quotas.show(owner);
    const key = this.claimKey(job);
    return overLimit(view.limit, sumClaims(view.claims, key), footprint, view.claims[key]);
  }

  /** Releases what job `job` of `owner` held. */
  release(owner: string, job: string): Promise<void> {
    return this.changeClaim(owner, this.claimKey(job));
  }

  /** Queues a change of `owner`'s claims; it is written with the others queued meanwhile. */
  private changeClaim(owner: string, claimKey: string, footprint?: Footprint): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queue = this.claimQueues.get(owner);
      const change = { claimKey, footprint, resolve, reject };
      if (queue) {
        queue.push(change);
        return;
      }
      this.claimQueues.set(owner, [change]);
      void this.writeClaims(owner);
    });
  }

  /** Writes `owner`'s queued changes, then those queued during the write, until none are left. */
  private async writeClaims(owner: string): Promise<void> {
    for (let batch = this.claimQueues.get(owner) ?? []; batch.length > 0;) {
      // Changes queued from now on wait for the next write.
      const next: ClaimChange[] = [];
      this.claimQueues.set(owner, next);
      try {
        const outcomes = await this.quotas.applyClaims(owner, batch);
        batch.forEach((change, i) => {
          const error = outcomes[i];
          if (error) change.reject(error);
          else change.resolve();
        });
      } catch (error) {
        for (const change of batch) change.reject(error);
      }
      batch = next;
    }
    this.claimQueues.delete(owner);
  }

  /**
   * Releases every claim of this framework whose job `isLive` does not know (a submit or an end
   * that a crash interrupted between the claim and the job's record). Run by a new leader before
   * it serves; resolves with how many it released.
   */
  async releaseStrayClaims(isLive: (job: string) => boolean): Promise<number> {
    const prefix = this.claimKey('');
    let released = 0;
    for (const view of await this.quotas.list()) {
      for (const key of Object.keys(view.claims)) {
        if (!key.startsWith(prefix) || isLive(key.slice(prefix.length))) continue;
        await this.quotas.release(view.user, key);
        released += 1;
      }
    }
    return released;
  }

  private claimKey(job: string): string {
    return `${this.framework}/${job}`;
  }
}
