/**
 * The CLI's way to a framework that runs with standbys (the AppMaster, batch, MapReduce): it finds
 * the leader through the coordinator (`--coordinator zk://…` or `local:…`, or such a URL as the
 * address) or starts at a given `host:port`, and follows a standby's GALAXY_E_NOT_LEADER answer to
 * the leader it names. While no leader is elected (a failover under way) it waits, up to a bound,
 * and asks again; a call that may be repeated also survives the leader dying under it.
 */
import { isCoordinatorUrl, LeaderLocator } from '../core/leader-locator.js';
import { GalaxyError, isGalaxyError } from '../core/errors.js';
import { leaderNamedBy } from '../core/not-leader.js';

/** How long a call waits for a leader by default (ms): longer than a failover takes. */
export const DEFAULT_LEADER_WAIT_MS = 30_000;
/** Pause between looks for a leader (ms). */
const RETRY_MS = 300;
/** Standbys followed in a row at most (a loop of stale answers ends here). */
const MAX_HOPS = 5;

/**
 * Where a command finds a framework: `--coordinator`, else the address flag given on the command
 * line, else `$<env>` (read now, when the command runs), else `$GALAXY_COORDINATOR`, else
 * `fallback`. The address may itself be a coordinator URL.
 */
export function frameworkTarget(
  flags: { readonly coordinator?: string; readonly address?: string },
  env: string,
  fallback: string,
): string {
  return flags.coordinator ?? flags.address ?? process.env[env] ?? process.env.GALAXY_COORDINATOR ?? fallback;
}

/** Calls one framework's leader through clients of type `C`, made per address. */
export class LeaderClient<C extends { close(): void }> {
  private readonly locator: LeaderLocator;
  private address: string | undefined;
  private client: C | undefined;

  /**
   * @param target `host:port`, or a coordinator URL to read the leader from
   * @param group the framework's election group (`core/leader-locator.ts`)
   * @param make a client of the framework at an address
   */
  constructor(
    target: string,
    group: string,
    private readonly make: (address: string) => C,
    private readonly waitMs = DEFAULT_LEADER_WAIT_MS,
  ) {
    this.locator = new LeaderLocator(target, group);
  }

  /** The address called last (undefined before the first call). */
  get current(): string | undefined {
    return this.address;
  }

  /**
   * Runs `fn` against the leader. NOT_LEADER answers are followed; with `repeatable` (a read, or
   * a verb whose repetition does no harm) an unreachable leader is looked for again as well.
   */
  async call<T>(fn: (client: C) => Promise<T>, options: { repeatable?: boolean } = {}): Promise<T> {
    const deadline = Date.now() + this.waitMs;
    let hops = 0;
    for (;;) {
      try {
        return await fn(await this.connect());
      } catch (error) {
        const named = leaderNamedBy(error);
        const standby = isGalaxyError(error, 'GALAXY_E_NOT_LEADER');
        const unreachable = isGalaxyError(error, 'GALAXY_E_UNAVAILABLE') && options.repeatable === true;
        if (standby && named !== undefined && named !== this.address && hops < MAX_HOPS) {
          hops += 1;
          this.switchTo(named);
          continue;
        }
        // No leader elected yet, or the leader went away: look again until the deadline.
        if ((standby || (unreachable && !this.locator.fixed)) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          if (!this.locator.fixed) this.switchTo(undefined);
          continue;
        }
        throw error;
      }
    }
  }

  /** Closes the client. */
  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  private async connect(): Promise<C> {
    if (this.client) return this.client;
    const address = this.address ?? (await this.locate());
    this.address = address;
    this.client = this.make(address);
    return this.client;
  }

  /** The leader's address from the coordinator (or the fixed address), waiting while none is elected. */
  private async locate(): Promise<string> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      try {
        return await this.locator.locate();
      } catch (error) {
        if (!isGalaxyError(error, 'GALAXY_E_UNAVAILABLE') || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private switchTo(address: string | undefined): void {
    this.close();
    this.address = address;
  }
}

/** Throws unless `target` is a `host:port` or a coordinator URL. */
export function checkTarget(target: string, flag: string): void {
  if (isCoordinatorUrl(target) || /^[^\s/]+:\d+$/.test(target)) return;
  throw new GalaxyError(
    'GALAXY_E_INVALID_ARGUMENT',
    `${flag} expects host:port or a coordinator URL (zk://…, local:/dir), got "${target.slice(0, 100)}"`,
  );
}
