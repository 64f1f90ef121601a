/**
 * The agent's extension points, declared in one place: the task lifecycle the agent runs and the
 * container lifecycle its containerizer runs, in one frozen object of tapable hooks. Isolators are
 * tapped onto the container hooks (`agent/plugins/isolators.ts`) like any other agent plugin, so
 * every isolator is driven through these hooks and nowhere else.
 */
import { AsyncParallelHook, AsyncSeriesBailHook, AsyncSeriesHook, SyncHook } from 'tapable';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import type { FrameworkMessage } from '../proto/gen/galaxy/v1/scheduler.js';
import type { Logger } from '../core/logger.js';
import type { PluginMeta } from '../core/plugin-loader.js';
import type { Container, ContainerUsage, Limitation } from '../isolators/isolator.js';
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

    // The container lifecycle (Linux containers only), after Mesos' isolator interface.
    /** Before a container's first process starts: set limits, add volumes. A rejection fails the launch. */
    prepare: new AsyncSeriesHook<[Container]>(['container']),
    /** Once the first process runs (inside the cgroups already), all taps in parallel. */
    isolate: new AsyncParallelHook<[Container, number]>(['container', 'pid']),
    /**
     * A limit the container breached, or undefined: the first tap to return one wins and the
     * task ends with its reason. Asked once at exit, and every ~100 ms while the container runs
     * when an isolator `polls`.
     */
    limitation: new AsyncSeriesBailHook<[Container], Limitation | undefined>(['container']),
    /** Usage statistics of a running container: each tap adds its own measurements to `usage`. */
    usage: new AsyncParallelHook<[Container, ContainerUsage]>(['container', 'usage']),
    /** After every process of the container is gone, in reverse order of the isolators. */
    cleanup: new AsyncSeriesHook<[Container]>(['container']),
    /**
     * After an agent restart, with the containers it re-attached to: rebuild what they need and
     * remove leftovers of containers nobody re-attached to (orphans).
     */
    recover: new AsyncSeriesHook<[readonly Container[]]>(['containers']),
  });
}

/** The agent's hooks. */
export type AgentHooks = ReturnType<typeof createAgentHooks>;

/** What an agent plugin sees of its host. */
export interface AgentHost {
  readonly hooks: AgentHooks;
  readonly log: Logger;
}

/**
 * An agent plugin: metadata the plugin loader checks (name, version, the agent plugin API range
 * it supports) and `apply`, which taps the hooks of the agent it is applied to.
 */
export interface AgentPlugin extends PluginMeta {
  /** Its kind: what tells it from a master plugin, whose shape (`apply`) is the same. */
  readonly kind: 'agent';
  apply(agent: AgentHost): void;
}

/** The agent plugin API version this Galaxy implements. */
export const AGENT_PLUGIN_API_VERSION = '1.0.0';

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
