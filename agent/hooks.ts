/**
 * The agent's extension points, declared in one place. Isolators and other agent plugins tap
 * them; `beforeLaunch` is where an isolator prepares a container, `taskExited` where it cleans up.
 */
import { AsyncSeriesHook, SyncHook } from 'tapable';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import type { FrameworkMessage } from '../proto/gen/galaxy/v1/scheduler.js';
import type { Logger } from '../core/logger.js';
import type { ExitInfo } from './launcher.js';

/** What a plugin sees of a task about to start; `env` may be extended. */
export interface LaunchContext {
  readonly framework: FrameworkInfo;
  readonly task: TaskInfo;
  readonly sandbox: string;
  readonly env: Record<string, string>;
}

/** Creates the agent's frozen hooks object. */
export function createAgentHooks() {
  return Object.freeze({
    /** The master accepted the agent (first registration or re-registration). */
    registered: new SyncHook<[string]>(['agentId']),
    /** Before a task's process starts; a rejection fails the launch with its message. */
    beforeLaunch: new AsyncSeriesHook<[LaunchContext]>(['context']),
    /** A task's process started. */
    launched: new SyncHook<[LaunchContext, number]>(['context', 'pid']),
    /** A task's process exited (after a kill, too). */
    taskExited: new AsyncSeriesHook<[LaunchContext, ExitInfo]>(['context', 'exit']),
    /** A status update is about to be sent. */
    statusUpdate: new SyncHook<[TaskStatus]>(['status']),
    /** A framework sent bytes to one of its tasks. */
    frameworkMessage: new SyncHook<[FrameworkMessage]>(['message']),
  });
}

/** The agent's hooks. */
export type AgentHooks = ReturnType<typeof createAgentHooks>;

/** An agent plugin: taps the hooks of the agent it is applied to. */
export interface AgentPlugin {
  readonly name: string;
  apply(agent: { readonly hooks: AgentHooks }): void;
}

/**
 * Calls a synchronous hook so that a throwing plugin is logged instead of taking the agent down
 * or stopping the status update it observes.
 */
export function callHook(log: Logger, hook: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    log.error({ hook, err: error instanceof Error ? error.message : String(error) }, 'an agent plugin failed');
  }
}
