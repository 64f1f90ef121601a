/**
 * Read-only summaries of the master's state for operators.
 */
import type { Resources, Task } from '../proto/gen/galaxy/v1/common.js';
import type { AgentSummary, FrameworkSummary } from '../proto/gen/galaxy/v1/operator.js';
import { addResources, emptyResources } from '../core/resources.js';
import { agentDisks } from '../core/disk-usage.js';
import { idleKeptVolumes } from './volumes/held-volumes.js';
import { isTerminal } from '../core/task-state.js';
import type { MasterContext } from './context.js';
import type { Machines } from './tenancy/machines.js';

/** Builds operator summaries from the master's context. */
export class MasterView {
  constructor(
    private readonly ctx: MasterContext,
    private readonly machines?: Pick<Machines, 'modeOf' | 'labelsOf'>,
  ) {}

  /** Every agent with what is used and offered on it, and its named disks. */
  agents(): AgentSummary[] {
    return [...this.ctx.agents.values()].map((agent) => {
      const offered = this.sumOffers((offer) => offer.agentId === agent.info.id);
      return {
        info: agent.info,
        used: this.sumTasks(agent.tasks, false),
        offered,
        revocableEstimate: this.ctx.revocable.estimate(agent.info.id),
        revocableUsed: this.sumTasks(agent.tasks, true),
        active: agent.active,
        registeredAt: agent.registeredAt / 1000,
        tasks: this.liveTasks(agent.tasks).length,
        mode: this.machines?.modeOf(agent.info.id) ?? 'online',
        labels: this.machines?.labelsOf(agent.info.id) ?? [],
        reservations: this.ctx.allocator.reservations(agent.info.id),
        // A volume's share is held by its task whatever the task runs on.
        disks: agentDisks(
          agent.info.total,
          this.sumTasks(agent.tasks),
          offered,
          idleKeptVolumes(this.ctx, agent).map((v) => ({ disk: v.disk, size: v.sizeBytes })),
        ),
      };
    });
  }

  /** Every framework with its owner, usage and dominant share (per role, and their sum). */
  frameworks(): FrameworkSummary[] {
    return [...this.ctx.frameworks.values()].map((fw) => {
      const roleShares = this.ctx.clients.roleShares(fw.info.id);
      return {
        info: fw.info,
        active: fw.active,
        used: this.sumTasks(fw.tasks),
        offered: this.sumOffers((offer) => offer.frameworkId === fw.info.id),
        dominantShare: roleShares.reduce((sum, r) => sum + r.share, 0),
        tasks: this.liveTasks(fw.tasks).length,
        suppressed: fw.suppressed,
        owner: fw.owner,
        roleShares,
      };
    });
  }

  /** Live tasks, then recently completed ones, optionally of one framework. */
  tasks(frameworkId: string): Task[] {
    const all = [...[...this.ctx.tasks.values()].map((r) => r.task), ...this.ctx.completed.values()];
    return frameworkId === '' ? all : all.filter((t) => t.frameworkId === frameworkId);
  }

  private liveTasks(keys: Iterable<string>): Task[] {
    const out: Task[] = [];
    for (const key of keys) {
      const task = this.ctx.tasks.get(key)?.task;
      if (task && !isTerminal(task.state)) out.push(task);
    }
    return out;
  }

  /** What live tasks hold; with `revocable` only those on revocable resources (true) or only the others (false). */
  private sumTasks(keys: Iterable<string>, revocable?: boolean): Resources {
    const tasks = this.liveTasks(keys).filter((t) => revocable === undefined || (t.onRevocable === true) === revocable);
    return tasks.reduce((sum, t) => addResources(sum, t.resources ?? emptyResources()), emptyResources());
  }

  private sumOffers(match: (offer: { agentId: string; frameworkId: string }) => boolean): Resources {
    let sum = emptyResources();
    for (const offer of this.ctx.offers.all())
      if (match(offer)) sum = addResources(sum, offer.resources ?? emptyResources());
    return sum;
  }
}
