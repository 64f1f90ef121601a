/**
 * Reading a raw framework's event stream, and the plain task the agent-trust tests launch through
 * it: the pieces several tests spelled out each for itself.
 */
import type { Offer, TaskInfo, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { RawFramework } from './raw-clients.js';

/** The task status an UPDATE event carries, if it is one. */
export const statusOf = (e: Event): TaskStatus | undefined =>
  e.event?.$case === 'update' ? e.event.update.status : undefined;

/**
 * Launches `taskId` (0.1 cpu, 32 MiB, `exec sleep 300`) on `offer`'s agent through `fw`, and
 * resolves once the framework hears it RUNNING.
 */
export async function launchSleeper(fw: RawFramework, offer: Offer | undefined, taskId: string): Promise<void> {
  const task: TaskInfo = {
    taskId,
    name: taskId,
    agentId: offer?.agentId ?? '',
    resources: { cpus: 100, mem: 32 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'exec sleep 300', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
  await fw.call({
    call: {
      $case: 'accept',
      accept: {
        offerIds: [offer?.id ?? ''],
        operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task] } } }],
      },
    },
  });
  await fw.events.waitFor(
    (e) => statusOf(e)?.taskId === taskId && statusOf(e)?.state === TaskState.TASK_RUNNING,
    15_000,
    `${taskId} to run`,
  );
}
