/**
 * The agent's side of the master's messages, in one place for every kind of agent (the real one,
 * agent/agent.ts, and the simulator's, sim/sim-agent.ts): which message means what, and the
 * answers that are the same for every agent (a ping's pong).
 */
import type { MasterMessage } from '../proto/gen/galaxy/v1/agent.js';
import type { RunTask } from '../proto/gen/galaxy/v1/agent.js';
import type { LogRead } from '../proto/gen/galaxy/v1/logs.js';
import type { FrameworkMessage } from '../proto/gen/galaxy/v1/scheduler.js';
import type { MasterLink } from './master-link.js';

/** What an agent does with each message of the master; the optional ones are ignored when absent. */
export interface MasterMessageHandlers {
  /** Accepted as `agentId`; `credential` ('' if none) replaces a spent join token. */
  registered(agentId: string, credential: string): void;
  /** One task to run (a `runTasks` message comes here once per task, in order). */
  runTask(request: RunTask): void;
  killTask(frameworkId: string, taskId: string): void;
  /** The master (for its framework) acknowledged a status update. */
  acknowledge(frameworkId: string, taskId: string, uuid: string): void;
  /** Kill every task of the framework. */
  shutdownFramework(frameworkId: string): void;
  /** Answer with what the agent measures of its tasks. */
  usageRequest(requestId: number): void;
  frameworkMessage?(message: FrameworkMessage): void;
  /** `galaxy agent shutdown`: kill every task and stop. */
  shutdown?(requestedBy: string): void;
  /** Read a chunk of a task's output for a caller the master authorized (`galaxy logs`). */
  logRead?(request: LogRead): void;
  /** Delete framework `frameworkId`'s persistent disk volume `volumeId` (docs/disks.md). */
  destroyVolume?(frameworkId: string, volumeId: string): void;
}

/**
 * The tasks a message asks to run, in order: one for a `runTask`, each of a `runTasks` (the tasks
 * of one ACCEPT); none for any other message.
 */
export function runRequests(message: MasterMessage): RunTask[] {
  const body = message.message;
  if (body?.$case === 'runTask') return [body.runTask];
  if (body?.$case === 'runTasks')
    return body.runTasks.tasks.map((task) => ({ framework: body.runTasks.framework, task }));
  return [];
}

/** Hands one message of the master to `handlers`; answers pings on `link` itself. */
export function handleMasterMessage(
  link: Pick<MasterLink, 'send'>,
  message: MasterMessage,
  handlers: MasterMessageHandlers,
): void {
  const body = message.message;
  switch (body?.$case) {
    case 'registered':
      handlers.registered(body.registered.agentId, body.registered.credential);
      return;
    case 'ping':
      link.send({ message: { $case: 'pong', pong: { seq: body.ping.seq } } });
      return;
    case 'runTask':
    case 'runTasks':
      for (const request of runRequests(message)) handlers.runTask(request);
      return;
    case 'killTask':
      handlers.killTask(body.killTask.frameworkId, body.killTask.taskId);
      return;
    case 'ack':
      handlers.acknowledge(body.ack.frameworkId, body.ack.taskId, body.ack.uuid);
      return;
    case 'acks':
      for (const ack of body.acks.acks) handlers.acknowledge(ack.frameworkId, ack.taskId, ack.uuid);
      return;
    case 'shutdownFramework':
      handlers.shutdownFramework(body.shutdownFramework.frameworkId);
      return;
    case 'usageRequest':
      handlers.usageRequest(body.usageRequest.requestId);
      return;
    case 'frameworkMessage':
      handlers.frameworkMessage?.(body.frameworkMessage);
      return;
    case 'shutdown':
      handlers.shutdown?.(body.shutdown.requestedBy);
      return;
    case 'logRead':
      handlers.logRead?.(body.logRead);
      return;
    case 'disksDestroyVolume':
      handlers.destroyVolume?.(body.disksDestroyVolume.frameworkId, body.disksDestroyVolume.volumeId);
      return;
    case 'error':
    case undefined:
      return;
  }
}
