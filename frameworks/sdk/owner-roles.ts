/**
 * The roles of a framework that acts for users — the AppMaster, batch, MapReduce (docs/security.md,
 * "Roles"): each job's tasks run in its owner's role, so that the owner's allocator quota,
 * guarantee, reservations and ledger bind them. The framework subscribes with the roles of its
 * jobs' owners, adds an owner's role (UPDATE_FRAMEWORK) before that owner's first job is placed,
 * and drops it once the owner's last job is gone; it places a job's tasks only into offers of its
 * owner's role ({@link offerFits}).
 */
import type { Logger } from '../../core/logger.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { SchedulerDriver } from './driver.js';

/** The role a job of `owner` runs in: the owner's own role, its user name. */
export function ownerRole(owner: string): string {
  return owner;
}

/**
 * True when a task of `owner`'s job may go into `offer`: the offer is allocated to the owner's
 * role. An offer without an allocation role (a master from before roles) fits any job.
 */
export function offerFits(offer: Pick<Offer, 'allocationRole'>, owner: string): boolean {
  return offer.allocationRole === undefined || offer.allocationRole === ownerRole(owner);
}

/** What {@link OwnerRoles} needs of the driver. */
export type RolesDriver = Pick<SchedulerDriver, 'roles' | 'updateFramework'>;

/** Counts jobs per owner and keeps the framework's roles in step with them. */
export class OwnerRoles {
  /** Role → live jobs in it. */
  private readonly jobs = new Map<string, number>();
  private driver: RolesDriver | undefined;
  /** The roles the master was last told, sorted. */
  private told: readonly string[] | undefined;
  /** UPDATE_FRAMEWORK calls go one after the other, each sending the roles of its time. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly log: Logger) {}

  /** The roles to subscribe with now, sorted (empty: the framework's own single role). */
  roles(): string[] {
    return [...this.jobs.keys()].sort();
  }

  /** Talks to the master through `driver` from now on; it subscribed with {@link roles} of that time. */
  attach(driver: RolesDriver): void {
    this.driver = driver;
    this.told = [...driver.roles].sort();
    void this.sync().catch(() => undefined);
  }

  /** A job of `owner` recovered before the framework subscribes: counted, told with the subscription. */
  adopt(owner: string): void {
    const role = ownerRole(owner);
    this.jobs.set(role, (this.jobs.get(role) ?? 0) + 1);
  }

  /**
   * A job of `owner` exists. Resolves once the master holds the owner's role (at once when no
   * driver is attached yet: the subscription will carry it). Rejects, counting nothing, when the
   * master refuses the role (the framework may not act for that user).
   */
  async hold(owner: string): Promise<void> {
    const role = ownerRole(owner);
    this.jobs.set(role, (this.jobs.get(role) ?? 0) + 1);
    try {
      await this.sync();
    } catch (error) {
      this.drop(role);
      throw error;
    }
  }

  /** A job of `owner` is gone: its role goes when it was the owner's last job. */
  release(owner: string): void {
    this.drop(ownerRole(owner));
    void this.sync().catch((error: unknown) => {
      this.log.warn({ err: String(error) }, 'dropping a role failed; the next change retries');
    });
  }

  private drop(role: string): void {
    const left = (this.jobs.get(role) ?? 0) - 1;
    if (left > 0) this.jobs.set(role, left);
    else this.jobs.delete(role);
  }

  /** Tells the master the current roles, unless it has them already. */
  private sync(): Promise<void> {
    const next = this.chain.then(async () => {
      const driver = this.driver;
      const roles = this.roles();
      if (!driver || (this.told && sameRoles(this.told, roles))) return;
      await driver.updateFramework({ roles });
      this.told = roles;
      this.log.info({ roles }, 'framework roles updated');
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}
