/**
 * Jobs have owners (`docs/security.md`, Jobs have owners): the one rule the AppMaster, batch and
 * MapReduce apply to every verb on a job, to their listings, and to a submit whose name is held.
 *
 * - A user acts on their own jobs with their pool authorities: the verb's own authority in the
 *   job's pool (`job:update` for scale, `container:create` for exec, …).
 * - Acting on another user's job needs, besides that authority, `job:any` in the job's pool.
 * - Admins may act on every job. Agents and pods act on none: a pod's principal carries its
 *   job's owner as its user, but a pod is not that user.
 * - A listing shows the jobs the caller may `show` (`job:list`) under the same rule.
 * - A job name held by another user's job is taken; the refusal says only that.
 *
 * Pure: the caller's grants come in, a decision goes out; the frameworks read the grants.
 */
import type { Principal } from '../auth/principal.js';
import { GalaxyError } from '../errors.js';
import { grantsAllow, permissionDenied, type Authority, type GrantsRecord } from './grants.js';

/** The authority to act on other users' jobs in a pool (besides each verb's own). */
export const ANY_JOB: Authority = 'job:any';

/** What the rule needs to know of a job: its name (for messages), its owner and its pool. */
export interface OwnedJob {
  readonly name: string;
  /** The user who submitted it. */
  readonly owner: string;
  readonly pool: string;
}

/** What {@link jobAccess} decided: allowed, or which authorities the caller lacks in the job's pool. */
export type JobAccess =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** The authorities missing in the job's pool, the verb's first. */
      readonly missing: readonly Authority[];
      /** The job is not the caller's (so `job:any` was needed too). */
      readonly othersJob: boolean;
    };

const ALLOWED: JobAccess = Object.freeze({ allowed: true as const });

/**
 * Whether `caller`, holding `grants`, may do what needs `authority` on `job`. Admins may do
 * everything; a user needs `authority` in the job's pool, and `job:any` there too when the job
 * is another user's; agents and pods may do nothing.
 */
export function jobAccess(
  caller: Principal,
  grants: GrantsRecord | undefined,
  job: Omit<OwnedJob, 'name'>,
  authority: Authority,
): JobAccess {
  if (caller.admin) return ALLOWED;
  const othersJob = caller.user !== job.owner;
  const needed = othersJob && authority !== ANY_JOB ? [authority, ANY_JOB] : [authority];
  // Only users hold grants: an agent or a pod (whose user is its job's owner) lacks everything.
  const missing = caller.kind === 'user' ? needed.filter((a) => !grantsAllow(grants, job.pool, a)) : needed;
  return missing.length === 0 ? ALLOWED : { allowed: false, missing, othersJob };
}

/**
 * Throws the GALAXY_E_PERMISSION_DENIED of {@link jobAccess}'s refusal (naming the user, what
 * they lack, the pool and the grant that fixes it; never the other owner), else returns.
 */
export function checkJobAccess(
  caller: Principal,
  grants: GrantsRecord | undefined,
  job: OwnedJob,
  authority: Authority,
): void {
  const access = jobAccess(caller, grants, job, authority);
  if (access.allowed) return;
  const why = access.othersJob ? ` to act on job "${job.name.slice(0, 100)}", which is another user's` : '';
  throw permissionDenied(caller.user, job.pool, access.missing, why);
}

/**
 * Whether `caller` may submit a job named `name` that the job of `holder` already holds
 * (undefined: nobody's): 'free', 'own' (the caller's own job: the framework decides, e.g.
 * "use update"), or a GALAXY_E_NAME_TAKEN that says only that the name is taken, thrown for
 * another user's job (admins' too: an admin removes it first).
 */
export function claimJobName(caller: Principal, name: string, holder: string | undefined): 'free' | 'own' {
  if (holder === undefined) return 'free';
  if (caller.kind === 'user' && holder === caller.user) return 'own';
  throw new GalaxyError('GALAXY_E_NAME_TAKEN', `the job name "${name.slice(0, 100)}" is taken; choose another name`);
}
