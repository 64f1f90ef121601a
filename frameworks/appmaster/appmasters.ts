/**
 * The AppMaster addresses a pod is given (`GALAXY_APPMASTERS`, and `appmasters` in every pull
 * answer): every candidate of the AppMasters' election, this one first. A pod holds no
 * coordinator address, so this list and the standbys' NOT_LEADER answers are how its worker
 * finds the leader after a failover.
 */
import type { Coordinator, Unwatch } from '../../core/coordinator/coordinator.js';
import { membersOf } from '../../core/coordinator/election.js';
import { APPMASTER_GROUP } from '../../core/leader-locator.js';

/** `self` first, then the other members in line, each once. */
export function appMasterAddresses(self: string, members: readonly string[]): string[] {
  return [...new Set([self, ...members])].filter((address) => address !== '');
}

/** The election's members as addresses, kept current by a watch on the election. */
export class AppMasterList {
  private addresses: readonly string[];
  private unwatch: Unwatch | undefined;
  private refreshing = false;
  private again = false;

  constructor(
    private readonly coordinator: Coordinator,
    /** This AppMaster's advertised address. */
    private readonly self: string,
  ) {
    this.addresses = appMasterAddresses(self, []);
  }

  /** Every AppMaster's address, this one first. */
  get current(): readonly string[] {
    return this.addresses;
  }

  /** Reads the members now and whenever the election changes, until {@link stop}. */
  async start(): Promise<void> {
    this.unwatch ??= this.coordinator.watch(APPMASTER_GROUP, () => {
      void this.refresh();
    });
    await this.refresh();
  }

  /** Stops following the election. */
  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Reads the members (one read at a time; a change during a read reads again). */
  private async refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    try {
      for (let more = true; more; more = this.changedMeanwhile()) {
        const members = await membersOf(this.coordinator, APPMASTER_GROUP).catch(() => undefined);
        if (members !== undefined) this.addresses = appMasterAddresses(this.self, members);
      }
    } finally {
      this.refreshing = false;
    }
  }

  /** True (once) when the election changed during the last read and the list is still followed. */
  private changedMeanwhile(): boolean {
    const again = this.again && this.unwatch !== undefined;
    this.again = false;
    return again;
  }
}
