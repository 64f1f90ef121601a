/**
 * The registry's persistence, as a master plugin: what a new leader cannot rebuild from the agents
 * that re-register — role weights, the admitted agents, frameworks' owners and roles, pools,
 * labels and modes of machines, the accounting ledger, quotas and dynamic reservations — is
 * loaded from the coordinator before the master serves and kept current as it changes. Agents
 * admitted before this master led that do not re-register within the re-registration timeout are
 * reported lost to every framework. Applied by a master that runs with standbys (`candidate.ts`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Limiter } from '../../core/concurrency.js';
import type { Allocator } from '../../allocators/allocator.js';
import type { Coordinator, Unwatch } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import type { Accounting } from '../accounting/accounting.js';
import type { MasterContext } from '../context.js';
import { FrameworkRegistry } from './framework-registry.js';
import type { FrameworksController } from '../frameworks/frameworks.js';
import type { Machines } from '../tenancy/machines.js';
import { BuiltinMasterPlugin, type MasterHost } from '../plugin.js';
import type { ReservationBook } from '../tenancy/reservations.js';
import { loadAllocationTenancy } from './tenancy-registry.js';
import { attachTenancyState } from './tenancy-state.js';

/** Where the registry keeps role weights. */
const WEIGHTS_KEY = '/galaxy/master/weights';
/** Where the registry keeps the admitted agents, one key each. */
const AGENTS_PREFIX = '/galaxy/master/agents';
/**
 * Admitted agents' keys written at once, at most: a cell coming up admits thousands of agents in
 * a minute, and their writes must not all queue ahead of the master's other writes (a framework's
 * roles, its UPDATE_FRAMEWORK waiting on them) in the coordinator's queue.
 */
export const AGENT_WRITES_AT_ONCE = 8;

/** The parts of the master whose state the registry keeps. */
export interface RegistryParts {
  readonly ctx: MasterContext;
  readonly allocator: Allocator;
  readonly frameworks: FrameworksController;
  readonly machines: Machines;
  readonly accounting: Accounting;
  readonly reservations: ReservationBook;
}

/** Loads the registry before the master serves and keeps it current. */
export class RegistryPersistence extends BuiltinMasterPlugin {
  readonly name = 'registry';
  private unwatchQuotas: Unwatch = () => undefined;
  private reregisterDeadline?: NodeJS.Timeout;
  private stopped = false;
  /**
   * The agents whose key is stored: listed once this master leads (without holding up its start:
   * a cell's keys are thousands of reads), then kept current by this master's writes.
   */
  private stored: Promise<Set<string>> = Promise.resolve(new Set());
  /** The admitted agents' writes and deletions, in order, {@link AGENT_WRITES_AT_ONCE} at a time. */
  private readonly agentWrites = new Limiter(AGENT_WRITES_AT_ONCE);

  constructor(
    private readonly coordinator: Coordinator,
    private readonly parts: RegistryParts,
  ) {
    super();
  }

  /** Taps the master's hooks: loads on `starting`, writes on changes, stops on `stopping`. */
  apply({ hooks, log }: MasterHost): void {
    const write = (what: string, action: Promise<unknown>): void => {
      void action.catch((error: unknown) => {
        log.error({ err: String(error) }, `${what} could not be stored in the registry`);
      });
    };
    hooks.starting.tapPromise(this.name, () => this.load(log, write));
    hooks.stopping.tap(this.name, () => {
      this.stopped = true;
      clearTimeout(this.reregisterDeadline);
      this.unwatchQuotas();
    });
    hooks.weightsChanged.tap(this.name, (weights) => {
      write('role weights', this.coordinator.put(WEIGHTS_KEY, JSON.stringify(weights)));
    });
    hooks.agentAdded.tap(this.name, (agent) => {
      const id = agent.info.id;
      this.parts.ctx.awaitedAgents?.delete(id);
      // Once per agent: its key says it was admitted, and nothing reads more of it. Rewritten on
      // every re-registration, a failover cost the new leader a read and a write per agent.
      const entry = { hostname: agent.info.hostname, admittedAt: agent.registeredAt };
      const stored = this.stored.then(async (ids) => {
        if (ids.has(id)) return;
        ids.add(id);
        await this.agentWrites
          .run(() => this.coordinator.put(`${AGENTS_PREFIX}/${id}`, JSON.stringify(entry)))
          .catch((error: unknown) => {
            ids.delete(id);
            throw error;
          });
      });
      write(`agent ${id}`, stored);
    });
    hooks.agentRemoved.tap(this.name, (agent) => {
      const id = agent.info.id;
      const removed = this.stored.then((ids) => {
        ids.delete(id);
        return this.agentWrites.run(() => this.coordinator.delete(`${AGENTS_PREFIX}/${id}`));
      });
      write(`agent ${id}`, removed);
    });
  }

  private async load(log: Logger, write: (what: string, action: Promise<unknown>) => void): Promise<void> {
    const { coordinator, parts } = this;
    await attachTenancyState(parts, coordinator, log);
    // Frameworks' owners and roles: a re-SUBSCRIBE after this failover is checked against them.
    parts.frameworks.registry = await FrameworkRegistry.load(coordinator, log);
    this.unwatchQuotas = await loadAllocationTenancy(coordinator, parts, log);
    const stored = await coordinator.get(WEIGHTS_KEY);
    if (stored) {
      try {
        for (const { role, weight } of JSON.parse(stored.value) as { role: string; weight: number }[])
          parts.allocator.setWeight(role, weight);
      } catch (error) {
        // A value nobody can read must not keep the master from leading: reported, then overwritten on the next change.
        log.warn(
          { key: WEIGHTS_KEY, err: String(error) },
          `stored role weights ${WEIGHTS_KEY} cannot be read; skipped`,
        );
      }
    }
    const { ctx } = parts;
    const deadline = Date.now() + ctx.timings.agentReregisterTimeoutMs;
    const listed = this.listAdmitted(log);
    ctx.awaitedAgents = undefined;
    this.stored = listed.then(
      (ids) => new Set(ids),
      (error: unknown) => {
        log.error({ err: String(error) }, 'the admitted agents could not be listed; none will be reported lost');
        ctx.awaitedAgents = new Set();
        return new Set<string>();
      },
    );
    void listed.then(
      (admitted) => {
        ctx.awaitedAgents = new Set(admitted.filter((id) => !ctx.agents.has(id)));
        if (admitted.length === 0 || this.stopped) return;
        this.reregisterDeadline = setTimeout(
          () => {
            this.reportMissing(admitted, log, write);
          },
          Math.max(0, deadline - Date.now()),
        );
        this.reregisterDeadline.unref();
      },
      () => undefined,
    );
  }

  /**
   * The stored admitted agents, listed again after a failure (a call timing out on a loaded
   * coordinator) until this master stops: meanwhile no agent's key is written and no task on an
   * unknown agent is answered TASK_UNKNOWN.
   */
  private async listAdmitted(log: Logger): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.coordinator.list(AGENTS_PREFIX);
      } catch (error) {
        if (this.stopped) throw error;
        log.warn({ err: String(error), attempt }, 'the admitted agents could not be listed; listing them again');
        await sleep(Math.min(5000, 500 * attempt));
      }
    }
  }

  /** Reports lost, to every framework, the agents of `admitted` that did not re-register, and forgets them. */
  private reportMissing(
    admitted: readonly string[],
    log: Logger,
    write: (what: string, action: Promise<unknown>) => void,
  ): void {
    const { ctx } = this.parts;
    ctx.awaitedAgents = new Set();
    for (const id of admitted) {
      if (ctx.agents.has(id)) continue;
      log.warn({ agent: id }, 'admitted agent did not re-register after the failover; reporting it lost');
      const removed = this.stored.then((ids) => {
        ids.delete(id);
        return this.agentWrites.run(() => this.coordinator.delete(`${AGENTS_PREFIX}/${id}`));
      });
      write(`agent ${id}`, removed);
      for (const framework of ctx.frameworks.values())
        ctx.sendEvent(framework.info.id, { event: { $case: 'failure', failure: { agentId: id } } });
    }
  }
}
