/**
 * The agent's Prometheus metrics with its own prom-client registry (`galaxy agent
 * --metrics-listen`): containers, launch latency, limit hits by isolator, status-update retries,
 * lent cpu, and per-container usage read from the isolators' usage hooks at scrape time. Per-container
 * series exist only for live containers: each scrape resets them and sets the live ones, so a
 * removed container's series is gone at the next scrape (labels stay bounded by what runs).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isTerminal } from '../core/task-state.js';
import type { ContainerUsage } from '../isolators/isolator.js';
import type { TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import type { AgentHooks } from './hooks.js';

/** What the metrics read of the agent. */
export interface MeteredAgent {
  readonly hooks: AgentHooks;
  /** Live and finishing tasks. */
  readonly tasks: ReadonlyMap<
    string,
    { readonly state: TaskStatus['state']; readonly framework: { id: string }; readonly info: { taskId: string } }
  >;
  /** True when tasks run in Linux containers. */
  readonly containerized: boolean;
  usage(frameworkId: string, taskId: string): Promise<ContainerUsage>;
  /** The cpu lending controller, when the agent has one. */
  readonly cpuLend?: { lentMillicores(): number; readonly reclaims: number };
}

/** Per-container usage gauges: metric name → help and the usage field it reads. */
const USAGE_SERIES = [
  ['galaxy_agent_container_cpu_seconds', 'CPU time used by the container (cumulative)', 'cpuSeconds'],
  [
    'galaxy_agent_container_cpu_throttled_seconds',
    'Time the container was throttled by its CPU limit (cumulative)',
    'cpuThrottledSeconds',
  ],
  ['galaxy_agent_container_memory_bytes', 'Memory the container uses now', 'memBytes'],
  ['galaxy_agent_container_memory_max_bytes', 'Most memory the container used', 'memMaxBytes'],
  [
    'galaxy_agent_container_cpu_lent_millicores',
    'Idle cpu lent to the soft-limited container now, above its request',
    'cpuLentMillicores',
  ],
  ['galaxy_agent_container_pids', 'Processes in the container', 'pids'],
  ['galaxy_agent_container_disk_bytes', 'Disk the container uses', 'diskBytes'],
  ['galaxy_agent_container_disk_read_bytes', 'Bytes the container read from disk (cumulative)', 'diskReadBytes'],
  ['galaxy_agent_container_disk_write_bytes', 'Bytes the container wrote to disk (cumulative)', 'diskWriteBytes'],
  ['galaxy_agent_container_network_transmit_bytes', 'Bytes the container sent (cumulative)', 'netTxBytes'],
  ['galaxy_agent_container_network_receive_bytes', 'Bytes the container received (cumulative)', 'netRxBytes'],
] as const;

/** The agent's metrics. */
export class AgentMetrics {
  readonly registry = new Registry();
  /** Status updates resent to the master (the agent's StatusUpdateStream counts them). */
  statusUpdateRetries = 0;

  constructor(
    agent: MeteredAgent,
    /** The status updates' writes (./status-outbox.ts): messages and the updates they carried. */
    outbox?: { readonly messages: number; readonly updates: number },
  ) {
    const registers = [this.registry];
    const live = () => [...agent.tasks.values()].filter((t) => !isTerminal(t.state));
    new Gauge({
      name: 'galaxy_agent_containers',
      help: 'Live tasks on this agent (containers, or plain processes when not containerized)',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        this.set({ kind: agent.containerized ? 'container' : 'process' }, live().length);
      },
    });
    const launchSeconds = new Histogram({
      name: 'galaxy_agent_launch_duration_seconds',
      help: "Time from a task's arrival at the agent to its first process running (sandbox, isolators, container)",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const limitHits = new Counter({
      name: 'galaxy_agent_limit_hits_total',
      help: 'Tasks ended because they breached a limit, by isolator',
      labelNames: ['isolator'],
      registers,
    });
    const retries = () => this.statusUpdateRetries;
    new Counter({
      name: 'galaxy_agent_status_update_retries_total',
      help: 'Status updates the agent resent to the master that had not acknowledged them',
      registers,
      collect() {
        this.reset();
        this.inc(retries());
      },
    });
    const lending = agent.cpuLend;
    if (lending) {
      new Gauge({
        name: 'galaxy_agent_cpu_lent_millicores',
        help: 'Idle cpu lent to soft-limited containers now, above their requests (all containers)',
        registers,
        collect() {
          this.set(lending.lentMillicores());
        },
      });
      new Counter({
        name: 'galaxy_agent_cpu_lend_reclaims_total',
        help: 'Times idle cpu fell under the low threshold and lent cpu was taken back',
        registers,
        collect() {
          this.reset();
          this.inc(lending.reclaims);
        },
      });
    }
    if (outbox) {
      new Counter({
        name: 'galaxy_agent_status_update_messages_total',
        help: 'Messages that carried status updates to the master (several updates each when they came together)',
        registers,
        collect() {
          this.reset();
          this.inc(outbox.messages);
        },
      });
      new Counter({
        name: 'galaxy_agent_status_updates_sent_total',
        help: 'Status updates written to the master, resends included',
        registers,
        collect() {
          this.reset();
          this.inc(outbox.updates);
        },
      });
    }
    // One usage read per container per scrape, shared by every usage gauge (a scrape collects
    // the gauges at once): each gauge's collect waits for the same read.
    let reading: Promise<void> | undefined;
    const readAll = (): Promise<void> =>
      (reading ??= (async () => {
        const measured = await Promise.all(
          live().map(async (task) => ({
            labels: { framework_id: task.framework.id, task_id: task.info.taskId },
            usage: await agent.usage(task.framework.id, task.info.taskId).catch(() => undefined),
          })),
        );
        for (const [gauge, field] of usage) {
          gauge.reset();
          for (const m of measured) if (m.usage) gauge.set(m.labels, m.usage[field] ?? 0);
        }
      })().finally(() => {
        reading = undefined;
      }));
    const usage: (readonly [Gauge, (typeof USAGE_SERIES)[number][2]])[] = USAGE_SERIES.map(
      ([name, help, field]) =>
        [
          new Gauge({
            name,
            help,
            labelNames: ['framework_id', 'task_id'],
            registers,
            collect: readAll,
          }),
          field,
        ] as const,
    );
    const started = new Map<string, () => void>();
    agent.hooks.beforeLaunch.tap('metrics', (context) => {
      started.set(`${context.framework.id}/${context.task.taskId}`, launchSeconds.startTimer());
    });
    agent.hooks.launched.tap('metrics', (context) => {
      const key = `${context.framework.id}/${context.task.taskId}`;
      started.get(key)?.();
      started.delete(key);
    });
    agent.hooks.statusUpdate.tap('metrics', (status) => {
      if (isTerminal(status.state)) started.delete(`${status.frameworkId}/${status.taskId}`);
      if (isTerminal(status.state) && status.reason.endsWith('-limit'))
        limitHits.inc({ isolator: status.reason.slice(0, -'-limit'.length) });
    });
  }
}
