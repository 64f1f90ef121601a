/**
 * Pod principals: the AppMaster gives each container it launches a random pull token
 * (`GALAXY_POD_TOKEN`) and keeps only its hash in the pod's record. The pull API authenticates
 * that token as a `pod` principal bound to its job and pod, and answers it only for that pod.
 */
import type { Authenticator, Principal } from '../../core/auth/principal.js';
import { tokenHash } from '../../core/auth/tokens.js';
import { GalaxyError } from '../../core/errors.js';

/** A pod's AppWorker: the principal of a pull token. */
export interface PodPrincipal extends Principal {
  readonly kind: 'pod';
  readonly job: string;
  readonly podId: string;
}

/** Finds the pod whose current pull token hashes to `sha256`. */
export type PodLookup = (sha256: string) => { job: string; podId: string; owner: string } | undefined;

/** True when `principal` is a pod's. */
export function isPodPrincipal(principal: Principal): principal is PodPrincipal {
  return principal.kind === 'pod' && 'podId' in principal;
}

/** Users' tokens through `users`, else pods' pull tokens through `pods`. */
export function withPodTokens(users: Authenticator, pods: PodLookup): Authenticator {
  return (token) => {
    const user = users(token);
    if (user) return user;
    const pod = pods(tokenHash(token));
    if (!pod) return undefined;
    const principal: PodPrincipal = { user: pod.owner, admin: false, kind: 'pod', job: pod.job, podId: pod.podId };
    return Object.freeze(principal);
  };
}

/** Refuses a pull for `job`/`podId` unless the caller is that pod (or an admin). */
export function checkPullCaller(caller: Principal, job: string, podId: string): void {
  if (caller.admin) return;
  if (isPodPrincipal(caller) && caller.job === job && caller.podId === podId) return;
  throw new GalaxyError(
    'GALAXY_E_PERMISSION_DENIED',
    `${caller.kind} ${caller.user} may not pull for pod ${podId} of job ${job}: each AppWorker pulls with its own pod's token`,
  );
}
