/**
 * The master's Prometheus metrics, as a master plugin with its own prom-client registry (served
 * by `--metrics-listen`, and at `/metrics` on the master's HTTP port). Gauges are read from the
 * master's state when scraped, so the hot path pays nothing for them; only the allocation timer
 * and the preemption counters are kept as things happen.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isTerminal, stateName } from '../core/task-state.js';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import { BuiltinMasterPlugin, type MasterHost } from './plugin.js';
import type { Machines } from './tenancy/machines.js';

/** The master's metrics. */
export class MasterMetrics extends BuiltinMasterPlugin {
  readonly name = 'metrics';
  /** The registry (one per master). */
  readonly registry = new Registry();
  /** How long one allocation pass takes. */
  readonly allocationSeconds = new Histogram({
    name: 'galaxy_master_allocation_run_duration_seconds',
    help: 'Duration of one allocation pass (allocator run and offers sent)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(private readonly machines: Machines) {
    super();
  }

  /** Registers the gauges (read at scrape) and counts preemptions from the event log. */
  apply({ ctx }: MasterHost): void {
    const registers = [this.registry];
    new Gauge({
      name: 'galaxy_master_agents_registered',
      help: 'Agents the master knows (connected or inside their re-registration timeout)',
      registers,
      collect() {
        this.set(ctx.agents.size);
      },
    });
    const machines = this.machines;
    new Gauge({
      name: 'galaxy_master_agents',
      help: 'Agents by state: active (connected) or disconnected, and by mode: online, offline or draining',
      labelNames: ['state'],
      registers,
      collect() {
        const counts: Record<string, number> = { active: 0, disconnected: 0, online: 0, offline: 0, draining: 0 };
        for (const agent of ctx.agents.values()) {
          counts[agent.active ? 'active' : 'disconnected'] =
            (counts[agent.active ? 'active' : 'disconnected'] ?? 0) + 1;
          const mode = machines.modeOf(agent.info.id);
          counts[mode] = (counts[mode] ?? 0) + 1;
        }
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'galaxy_master_frameworks',
      help: 'Frameworks by state: active (connected) or inactive (inside their failover timeout)',
      labelNames: ['state'],
      registers,
      collect() {
        let active = 0;
        for (const fw of ctx.frameworks.values()) if (fw.active) active += 1;
        this.set({ state: 'active' }, active);
        this.set({ state: 'inactive' }, ctx.frameworks.size - active);
      },
    });
    new Gauge({
      name: 'galaxy_master_outstanding_offers',
      help: 'Offers sent and not yet accepted, declined or rescinded',
      registers,
      collect() {
        this.set(ctx.offers.size);
      },
    });
    new Gauge({
      name: 'galaxy_master_tasks',
      help: 'Tasks the master tracks, by state (live ones and those not yet acknowledged)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const state of [TaskState.TASK_STAGING, TaskState.TASK_STARTING, TaskState.TASK_RUNNING])
          this.set({ state: stateName(state).toLowerCase() }, 0);
        for (const { task } of ctx.tasks.values()) this.inc({ state: stateName(task.state).toLowerCase() });
      },
    });
    new Gauge({
      name: 'galaxy_master_tasks_completed',
      help: 'Finished tasks the master remembers (bounded), by final state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const task of ctx.completed.values())
          if (isTerminal(task.state)) this.inc({ state: stateName(task.state).toLowerCase() });
      },
    });
    new Gauge({
      name: 'galaxy_master_role_dominant_share',
      help: "Weighted dominant share per role: the sum over the role's frameworks of their DRF share in it",
      labelNames: ['role'],
      registers,
      collect() {
        this.reset();
        for (const fw of ctx.frameworks.values())
          for (const { role, share } of ctx.clients.roleShares(fw.info.id)) this.inc({ role }, share);
      },
    });
    new Counter({
      name: 'galaxy_master_status_update_retries_total',
      help: 'Status updates the master resent to frameworks that had not acknowledged them',
      registers,
      collect() {
        this.reset();
        this.inc(ctx.statusUpdateRetries);
      },
    });
    new Gauge({
      name: 'galaxy_master_events_kept',
      help: 'Events in the event log (bounded by eventsRetained and eventsMaxAgeMs)',
      registers,
      collect() {
        this.set(ctx.events.size);
      },
    });
    new Gauge({
      name: 'galaxy_master_event_watchers',
      help: 'Open WatchEvents streams',
      registers,
      collect() {
        this.set(ctx.events.watching);
      },
    });
    const preemptions = new Counter({
      name: 'galaxy_master_preemptions_total',
      help: 'Preemptions carried out (each kills one or more tasks on one agent)',
      registers,
    });
    const victims = new Counter({
      name: 'galaxy_master_preempted_tasks_total',
      help: 'Tasks killed by preemptions',
      registers,
    });
    // Counted from the event log as preemptions happen (not the backlog a failover loads).
    ctx.events.watch({ kind: 'preemption' }, Number.MAX_SAFE_INTEGER, (event) => {
      preemptions.inc();
      victims.inc(event.preemption?.victims.length ?? 0);
    });
  }
}
