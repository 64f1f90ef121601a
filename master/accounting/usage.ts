/**
 * Gathers task usage from agents: one request per connected agent over its stream, answered
 * asynchronously; agents that stay silent past the deadline are left out rather than waited for.
 */
import type { TaskUsage } from '../../proto/gen/galaxy/v1/common.js';
import type { UsageReport } from '../../proto/gen/galaxy/v1/agent.js';
import type { MasterContext } from '../context.js';
import { taskKey } from '../records.js';

interface Pending {
  readonly waiting: Set<string>;
  readonly tasks: TaskUsage[];
  readonly done: () => void;
}

/** Fans usage requests out to agents and collects the reports. */
export class UsageCollector {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly ctx: MasterContext) {}

  /** Usage of every live task (optionally of one framework), within `timeoutMs`. */
  async collect(frameworkId: string, timeoutMs = 2000): Promise<TaskUsage[]> {
    const requestId = this.nextId++;
    const agents = [...this.ctx.agents.values()].filter((a) => a.connection && a.tasks.size > 0);
    const tasks: TaskUsage[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      const pending: Pending = { waiting: new Set(agents.map((a) => a.info.id)), tasks, done: finish };
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.pending.set(requestId, pending);
      if (pending.waiting.size === 0) finish();
      for (const agent of agents)
        agent.connection?.send({ message: { $case: 'usageRequest', usageRequest: { requestId } } });
    });
    this.pending.delete(requestId);
    return frameworkId === '' ? tasks : tasks.filter((t) => t.frameworkId === frameworkId);
  }

  /** An agent's answer; it counts only for the tasks the master placed on that agent. */
  report(agentId: string, report: UsageReport): void {
    const pending = this.pending.get(report.requestId);
    if (!pending?.waiting.delete(agentId)) return;
    const own = report.tasks.filter(
      (t) => this.ctx.tasks.get(taskKey(t.frameworkId, t.taskId))?.task.agentId === agentId,
    );
    pending.tasks.push(...own.map((t) => ({ ...t, agentId })));
    if (pending.waiting.size === 0) pending.done();
  }
}
