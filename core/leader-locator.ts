/**
 * Finding the process that leads a group (the masters, the AppMasters, batch, MapReduce): a fixed `host:port`, or
 * whoever a coordinator (`zk://…`, `local:/dir`) says was elected. Clients call {@link
 * LeaderLocator.locate} before each (re)connection, so they follow a failover on their own.
 */
import type { Coordinator } from './coordinator/coordinator.js';
import { openCoordinator } from './coordinator/index.js';
import { GalaxyError } from './errors.js';

/** The election group of the masters; the candidate name is the master's address. */
export const MASTER_GROUP = '/galaxy/election/master';
/** The election group of the AppMasters; the candidate name is the AppMaster API's address. */
export const APPMASTER_GROUP = '/galaxy/election/appmaster';
/** The election group of the batch frameworks; the candidate name is the batch API's address. */
export const BATCH_GROUP = '/galaxy/election/batch';
/** The election group of the MapReduce frameworks; the candidate name is the MapReduce API's address. */
export const MAPREDUCE_GROUP = '/galaxy/election/mapreduce';

/** Lookups under way, by coordinator and group (see {@link LeaderLocator.locate}). */
const inFlight = new Map<string, Promise<string>>();

/** True when `target` names a coordinator rather than a `host:port`. */
export function isCoordinatorUrl(target: string): boolean {
  return /^(zk|local|memory):/.test(target);
}

/**
 * Where a group's leader is now. Each lookup opens a coordinator session, reads the leader and
 * closes it again: lookups are rare (before a reconnection), a session that ended can never be
 * reused by mistake, and no coordinator socket stays open in a process that starts other
 * processes (the ZooKeeper client's socket is not close-on-exec, so an agent would hand it to
 * every task it launches).
 */
export class LeaderLocator {
  /**
   * @param target `host:port`, or a coordinator URL
   * @param group the election group to read when `target` is a coordinator
   */
  constructor(
    readonly target: string,
    readonly group: string,
  ) {}

  /** True when the target is a fixed address. */
  get fixed(): boolean {
    return !isCoordinatorUrl(this.target);
  }

  /**
   * The leader's address; rejects with GALAXY_E_UNAVAILABLE while nobody leads. Lookups of the
   * same group in the same coordinator that overlap share one session and its answer: thousands of
   * simulated agents in one process reconnecting after a failover opened thousands of ZooKeeper
   * sessions at once, more than a server admits from one address (issue 16).
   */
  locate(): Promise<string> {
    if (this.fixed) return Promise.resolve(this.target);
    const key = `${this.target}\u0000${this.group}`;
    let lookup = inFlight.get(key);
    if (!lookup) {
      lookup = this.lookUp().finally(() => inFlight.delete(key));
      inFlight.set(key, lookup);
    }
    return lookup;
  }

  private async lookUp(): Promise<string> {
    const coordinator: Coordinator = await openCoordinator(this.target);
    try {
      const leader = await coordinator.leader(this.group);
      if (leader === undefined)
        throw new GalaxyError('GALAXY_E_UNAVAILABLE', `no leader of ${this.group} is elected in ${this.target}`);
      return leader;
    } finally {
      await coordinator.close().catch(() => undefined);
    }
  }
}
