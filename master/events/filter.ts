/**
 * Which events a query or a watch wants, and which ones a caller may see: pure rules, shared by
 * `ListEvents`, `WatchEvents` and the console's event stream.
 *
 * Visibility (docs/operations.md, "Events"; docs/tenancy.md): an admin sees every event; a user
 * sees the events that are theirs — whose `user` is them (their jobs, their tasks, whoever runs
 * them) or that belong to a framework they own. Events with no user (agents, preemptions, which
 * name other users' tasks) are the cluster's: admins only. Agents and pods see none.
 */
import type { Principal } from '../../core/auth/principal.js';
import type { MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';

/** What a query or a watch asks for; an empty field matches every event. */
export interface EventFilter {
  /** A kind (`task.failed`), or a family (`task` matches every `task.*`). */
  readonly kind?: string;
  readonly job?: string;
  readonly agentId?: string;
  readonly frameworkId?: string;
  readonly user?: string;
  /** Seconds since the epoch: only events at or after it. */
  readonly sinceS?: number;
  /** Only events with a larger id. */
  readonly afterId?: number;
}

/** True when `event` matches every field `filter` sets. */
export function matchesFilter(event: MasterEvent, filter: EventFilter): boolean {
  if (filter.kind && event.kind !== filter.kind && !event.kind.startsWith(`${filter.kind}.`)) return false;
  if (filter.job && event.job !== filter.job) return false;
  if (filter.agentId && event.agentId !== filter.agentId && event.preemption?.agentId !== filter.agentId) return false;
  if (filter.frameworkId && event.frameworkId !== filter.frameworkId) return false;
  if (filter.user && event.user !== filter.user) return false;
  if (filter.sinceS && event.time < filter.sinceS) return false;
  if (filter.afterId && event.id <= filter.afterId) return false;
  return true;
}

/** Who owns a framework, as the master knows it (undefined when it does not). */
export type FrameworkOwnerOf = (frameworkId: string) => string | undefined;

/** A predicate telling whether `caller` may see an event (see the module's rules). */
export function visibleTo(caller: Principal, ownerOf: FrameworkOwnerOf): (event: MasterEvent) => boolean {
  if (caller.kind !== 'user') return () => false;
  if (caller.admin) return () => true;
  return (event) =>
    event.user !== '' &&
    (event.user === caller.user || (event.frameworkId !== '' && ownerOf(event.frameworkId) === caller.user));
}
