/**
 * How a trace's task group becomes a Galaxy job: best-effort and batch groups a batch job of
 * `completions` tasks, production and monitoring groups an AppMaster service of `replicas` pods
 * (the different-machine constraint as `maxPerHost: 1`). The command is the simulator's script
 * (./task-plan.ts): `sleep <duration>`, and `; exit 1` for a task the trace saw fail.
 */
import { BatchJobSpec } from '../proto/gen/galaxy/v1/batch.js';
import type { TaskGroup } from './trace/workload.js';

/** The simulated task's script for a group. */
export function groupCommand(group: TaskGroup): string {
  return group.exitCode === 0 ? `sleep ${group.durationS}` : `sleep ${group.durationS}; exit ${group.exitCode}`;
}

/** True when the group goes through the AppMaster. */
export function isService(group: TaskGroup): boolean {
  return group.band === 'production' || group.band === 'monitoring';
}

/** The batch job of a best-effort or batch group. */
export function batchSpec(group: TaskGroup): BatchJobSpec {
  return BatchJobSpec.fromPartial({
    name: group.name,
    command: groupCommand(group),
    completions: group.tasks.length,
    parallelism: group.tasks.length,
    band: group.band,
    resources: { cpus: group.cpus, mem: group.mem, disk: 0, gpus: group.gpus, ports: [] },
  });
}

/**
 * The AppMaster job of a production or monitoring group. Simulated pods have no AppWorker, so the
 * AppMaster never hears them deploy: the deploy timeout is the longest allowed so that it does not
 * replace them, and the package is a placeholder no one fetches.
 */
export function serviceSpec(group: TaskGroup): string {
  return JSON.stringify({
    name: group.name,
    band: group.band,
    replicas: group.tasks.length,
    maxPerHost: group.differentMachine ? 1 : 0,
    resources: {
      cpu: { millicores: group.cpus },
      memory: { hard: group.mem },
    },
    package: { source: 'file:///galaxy-sim/none.tar.gz', version: '1', sha256: '0'.repeat(64) },
    commands: { start: groupCommand(group) },
    deploy: { deployTimeoutS: 86_400 },
  });
}
