/**
 * A fake agent over real gRPC: it registers, answers pings, reports every task it is asked to
 * run as RUNNING and every task it is asked to kill as KILLED (reason `killed`), as a real agent
 * does — without containers, so tests can run many of them.
 */
import { randomUUID } from 'node:crypto';
import type { MasterMessage } from '../../proto/gen/galaxy/v1/agent.js';
import { StatusSource, TaskState, type AgentInfo, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { rawAgent, type RawAgent } from './raw-clients.js';
import { runRequests } from '../../agent/master-messages.js';

/** A fake agent and the tasks it runs. */
export interface FakeAgent {
  readonly raw: RawAgent;
  /** Resolves with the agent id. */
  readonly registered: Promise<string>;
  /** Task key (`framework/task`) → its TaskInfo, while it runs. */
  readonly running: Map<string, TaskInfo & { frameworkId: string }>;
  close(): void;
}

/**
 * Starts a fake agent.
 * @param killDelayMs how long a kill takes before KILLED is reported
 */
export function fakeAgent(
  master: string,
  info: Partial<AgentInfo>,
  killDelayMs = 0,
  /** The agent's bearer token, for an authenticating master. */
  token?: string,
): FakeAgent {
  const raw = rawAgent(master, info, [], [], token);
  const running = new Map<string, TaskInfo & { frameworkId: string }>();
  let agentId = '';
  void raw.registered.then(
    (id) => {
      agentId = id;
    },
    () => undefined,
  );
  const report = (frameworkId: string, taskId: string, state: TaskState, reason: string): void => {
    const status = {
      taskId,
      frameworkId,
      agentId,
      state,
      message: '',
      reason,
      source: StatusSource.SOURCE_AGENT,
      timestamp: Date.now() / 1000,
      uuid: randomUUID(),
    };
    raw.send({ message: { $case: 'statusUpdate', statusUpdate: { status } } });
  };
  raw.stream.on('data', (m: MasterMessage) => {
    const body = m.message;
    if (body?.$case === 'ping') {
      raw.send({ message: { $case: 'pong', pong: { seq: body.ping.seq } } });
    } else if (body?.$case === 'runTask' || body?.$case === 'runTasks') {
      for (const { framework, task } of runRequests(m)) {
        if (!task || !framework) continue;
        running.set(`${framework.id}/${task.taskId}`, { ...task, frameworkId: framework.id });
        report(framework.id, task.taskId, TaskState.TASK_RUNNING, '');
      }
    } else if (body?.$case === 'killTask') {
      const { frameworkId, taskId } = body.killTask;
      const key = `${frameworkId}/${taskId}`;
      if (!running.has(key)) return;
      setTimeout(() => {
        if (!running.delete(key)) return;
        report(frameworkId, taskId, TaskState.TASK_KILLED, 'killed');
      }, killDelayMs);
    }
  });
  return {
    raw,
    registered: raw.registered,
    running,
    close: () => {
      raw.close();
    },
  };
}
