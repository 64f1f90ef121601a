/**
 * The RegisterAgent an agent opens every stream with. Without an id it is a first registration;
 * with one it is a re-registration listing every task the agent still knows (terminal ones whose
 * last update is unacknowledged included) so that the master can rebuild its view of them.
 */
import type { FrameworkInfo, KeptVolume } from '../proto/gen/galaxy/v1/common.js';
import type { RegisterAgent } from '../proto/gen/galaxy/v1/agent.js';
import type { MachineInfo } from './discovery.js';
import type { TaskRunner } from './task-runner.js';

/** The agent's version as it reports it to the master. */
export const AGENT_VERSION = '0.1.0';

/**
 * Builds the registration of agent `id` ('' before the first) with its machine, tasks and the
 * persistent volumes it keeps with no container.
 */
export function registerAgent(
  id: string,
  machine: MachineInfo,
  runners: Iterable<Pick<TaskRunner, 'framework' | 'toTask'>>,
  keptVolumes: KeptVolume[] = [],
): RegisterAgent {
  const all = [...runners];
  // Each framework once, as the master expects one FrameworkInfo per framework.
  const frameworks = new Map<string, FrameworkInfo>(all.map((r) => [r.framework.id, r.framework]));
  return {
    agentInfo: {
      id,
      hostname: machine.hostname,
      total: machine.total,
      attributes: machine.attributes,
      pool: machine.pool,
      address: '',
      reservations: machine.reservations,
      allowedHostPaths: machine.allowedHostPaths,
    },
    tasks: all.map((runner) => runner.toTask()),
    frameworks: [...frameworks.values()],
    version: AGENT_VERSION,
    keptVolumes: { volumes: keptVolumes },
  };
}
