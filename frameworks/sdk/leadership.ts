/**
 * A framework that runs with standbys (the AppMaster, batch, MapReduce): its candidates share one election in
 * the coordinator, the leader acts, and the standbys serve their APIs only to say who leads
 * (GALAXY_E_NOT_LEADER, `core/not-leader.ts`). The framework id of the last leader is kept in the
 * coordinator, so that the next leader re-subscribes with it (a failover: the master keeps the
 * framework's tasks for its failover timeout, and lets only the same owner take it over).
 * Without a coordinator there is nobody to stand by for: it leads at once, and keeps nothing.
 */
import type { Principal } from '../../core/auth/principal.js';
import type { Coordinator, Leadership } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import { notLeader } from '../../core/not-leader.js';

/** How often a standby reads who leads (for its NOT_LEADER answers). */
const LEADER_POLL_MS = 500;

/** One candidate of a framework's election. */
export class FrameworkLeadership {
  /** The leader's address while this one stands by ('' unknown); undefined once it leads. */
  private leader: string | undefined = '';
  private held: Leadership | undefined;
  private poll: NodeJS.Timeout | undefined;
  private markLost: () => void = () => undefined;
  private stopped = false;
  private deposed = false;
  /** Resolves when this candidate led and stopped leading (deposed, its session gone, or fenced). */
  readonly lost: Promise<void>;

  constructor(
    private readonly coordinator: Coordinator | undefined,
    /** The election group, e.g. `/galaxy/election/batch`. */
    private readonly group: string,
    /** This candidate's advertised API address: what standbys and clients are told. */
    private readonly address: string,
    private readonly log: Logger,
    /** What it is, in log lines: `AppMaster`, `batch framework`. */
    private readonly what = 'framework',
  ) {
    this.lost = new Promise((resolve) => {
      this.markLost = resolve;
    });
  }

  /** While standing by, the leader's address ('' while none is elected); undefined once this one leads. */
  standby(): string | undefined {
    return this.leader;
  }

  /**
   * Reads who leads now and keeps reading it while standing by, so that the API names the leader
   * from its first answer on. Called before the API is announced; {@link lead} calls it too.
   */
  async follow(): Promise<void> {
    const coordinator = this.coordinator;
    if (!coordinator || this.poll) return;
    const look = async (): Promise<void> => {
      const leader = await coordinator.leader(this.group).catch(() => undefined);
      // Only while standing by: once elected it answers '' until it serves.
      if (this.leader !== undefined && !this.held) this.leader = leader ?? '';
    };
    this.poll = setInterval(() => void look(), LEADER_POLL_MS);
    this.poll.unref();
    await look();
  }

  /**
   * Waits until this candidate is elected (at once without a coordinator). It still answers as a
   * standby (no leader yet) until {@link serve}: the framework loads its state in between.
   */
  async lead(): Promise<void> {
    const coordinator = this.coordinator;
    if (!coordinator) return;
    await this.follow();
    this.log.info({ group: this.group, address: this.address }, `${this.what} standing by`);
    try {
      this.held = await coordinator.elect(this.group, this.address);
    } finally {
      clearInterval(this.poll);
    }
    this.leader = '';
    this.log.info({ group: this.group, address: this.address }, `${this.what} elected`);
    void this.held.lost.then(() => {
      this.depose('leadership lost');
    });
  }

  /** Its state loaded, the elected candidate acts as the leader from now on (unless deposed meanwhile). */
  serve(): void {
    if (this.stopped || this.deposed) return;
    this.leader = undefined;
    this.log.info({ group: this.group, address: this.address }, `${this.what} elected: it leads`);
  }

  /** Stops acting as the leader (its session ended, or another process wrote its records). */
  depose(why: string): void {
    if (this.deposed || this.stopped) return;
    this.deposed = true;
    this.log.error(
      { group: this.group, address: this.address, why },
      `${this.what} is no longer the leader: it stops acting now`,
    );
    this.leader = '';
    this.markLost();
  }

  /** The framework id the last leader subscribed with, kept at `key`. */
  async frameworkId(key: string): Promise<string | undefined> {
    return (await this.coordinator?.get(key))?.value;
  }

  /** Keeps `id` at `key` for the next leader. */
  async rememberFrameworkId(key: string, id: string): Promise<void> {
    if (this.coordinator && (await this.frameworkId(key)) !== id) await this.coordinator.put(key, id);
  }

  /** Gives up leadership (or the candidacy). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    this.leader = '';
    await this.held?.resign().catch(() => undefined);
  }
}

/**
 * Wraps an API verb of `what` (e.g. `batch framework`) so that while `standby()` names a leader
 * (or '' while none is elected) it answers GALAXY_E_NOT_LEADER instead of running.
 */
export function leaderOnly(what: string, standby: (() => string | undefined) | undefined) {
  return <Req, Res>(handler: (request: Req, caller: Principal) => Res | Promise<Res>) =>
    (request: Req, caller: Principal): Res | Promise<Res> => {
      const leader = standby?.();
      if (leader !== undefined) throw notLeader(what, leader);
      return handler(request, caller);
    };
}
