/**
 * Held volumes (docs/disks.md, "Held volumes"): the bytes of a persistent volume its agent keeps
 * with no container stay its framework's, as the resources of a task that outlived a failover do
 * ({@link Ledger.holdExisting}). A hold is an allocation of the framework: it is in no other
 * framework's offer, and it counts in the framework's dominant share and its role's quota use
 * as any allocation does. When the volume's next container launches, the hold becomes that task's
 * usage (claimed: nothing moves); when the volume goes, its bytes are free again.
 */
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import type { VolumeHold } from '../allocator.js';
import type { AgentEntry, Ledger } from './ledger.js';

/** One hold on an agent: held (its bytes are the framework's) or pending (they were not free). */
interface HoldEntry {
  readonly hold: VolumeHold;
  held: boolean;
}

/** The resources a hold takes on `agent`: its bytes on its disk, counted in `disk` too. */
export function holdResources(agent: AgentEntry, hold: VolumeHold): Resources {
  const disk = agent.total.namedDisks?.disks.find((d) => d.name === hold.disk);
  return {
    cpus: 0,
    mem: 0,
    disk: hold.size,
    gpus: 0,
    ports: [],
    namedDisks: {
      disks: [
        {
          name: hold.disk,
          medium: disk?.medium ?? '',
          size: hold.size,
          capacity: disk?.capacity ?? 0,
          exclusive: false,
        },
      ],
    },
  };
}

/** The ledger's held volumes, per agent. */
export class VolumeHoldBook {
  private readonly byAgent = new Map<string, Map<string, HoldEntry>>();

  constructor(private readonly ledger: Ledger) {}

  /**
   * Replaces the agent's holds (see `Allocator.setVolumeHolds`). An agent the ledger does not
   * hold (yet: the master re-adds a re-registering agent after its tasks) is ignored.
   */
  set(agentId: string, holds: readonly VolumeHold[], claimed: ReadonlySet<string>): void {
    const agent = this.ledger.agentById.get(agentId);
    if (!agent) return;
    const entries = this.byAgent.get(agentId) ?? new Map<string, HoldEntry>();
    const wanted = new Map(holds.map((h) => [h.key, h]));
    for (const [key, entry] of [...entries]) {
      const next = wanted.get(key);
      if (next && sameHold(next, entry.hold)) continue;
      entries.delete(key);
      // A claimed hold's bytes are its task's now: they stay with the framework.
      if (entry.held && (next !== undefined || !claimed.has(key)))
        this.ledger.recover(entry.hold.frameworkId, agentId, holdResources(agent, entry.hold));
    }
    for (const hold of holds) {
      if (!entries.has(hold.key) && this.ledger.frameworks.has(hold.frameworkId))
        entries.set(hold.key, { hold, held: false });
    }
    if (entries.size > 0) this.byAgent.set(agentId, entries);
    else this.byAgent.delete(agentId);
    this.applyPending(agentId);
  }

  /** Gives pending holds of the agent the bytes that are free now (call after resources come back). */
  applyPending(agentId: string): void {
    const entries = this.byAgent.get(agentId);
    const agent = this.ledger.agentById.get(agentId);
    if (!entries || !agent) return;
    for (const entry of entries.values()) {
      if (entry.held) continue;
      const framework = this.ledger.frameworks.get(entry.hold.frameworkId);
      const free = agent.freeDisks.find((d) => d.name === entry.hold.disk)?.size ?? 0;
      if (!framework || free < entry.hold.size || (agent.free[2] ?? 0) < entry.hold.size) continue;
      this.ledger.holdExisting(framework, agent, holdResources(agent, entry.hold));
      entry.held = true;
    }
  }

  /** The holds of the framework on the agent whose bytes it holds now. */
  held(frameworkId: string, agentId: string): VolumeHold[] {
    return [...(this.byAgent.get(agentId)?.values() ?? [])]
      .filter((e) => e.held && e.hold.frameworkId === frameworkId)
      .map((e) => e.hold);
  }

  /** Every hold of the agent, with whether its bytes are held (for tests and listings). */
  list(agentId: string): { hold: VolumeHold; held: boolean }[] {
    return [...(this.byAgent.get(agentId)?.values() ?? [])].map((e) => ({ hold: e.hold, held: e.held }));
  }

  /** The agent left: the ledger frees what it held there. */
  forgetAgent(agentId: string): void {
    this.byAgent.delete(agentId);
  }

  /** The framework left: the ledger freed its holds with the rest of what it held. */
  forgetFramework(frameworkId: string): void {
    for (const [agentId, entries] of this.byAgent) {
      for (const [key, entry] of entries) if (entry.hold.frameworkId === frameworkId) entries.delete(key);
      if (entries.size === 0) this.byAgent.delete(agentId);
    }
  }
}

function sameHold(a: VolumeHold, b: VolumeHold): boolean {
  return a.frameworkId === b.frameworkId && a.disk === b.disk && a.size === b.size;
}
