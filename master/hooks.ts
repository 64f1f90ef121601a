/**
 * The master's extension points, declared in one place. A plugin is `{ name, apply(master) }` and
 * taps these hooks; the master's own event trace is written as such a plugin.
 */
import { SyncBailHook, SyncHook } from 'tapable';
import type { AgentInfo, FrameworkInfo, Offer, Task, TaskInfo, TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import type { AgentRecord, FrameworkRecord } from './records.js';
import type { RoleWeight } from '../allocators/allocator.js';

/** Creates the master's frozen hooks object. */
export function createMasterHooks() {
  return Object.freeze({
    /**
     * An agent is being admitted (registered or re-registered): taps may adjust its info (pool,
     * attributes) before the allocator and offers see it. The machine registry taps it.
     */
    agentAdmitting: new SyncHook<[AgentInfo]>(['info']),
    /** An agent registered or re-registered. */
    agentAdded: new SyncHook<[AgentRecord, boolean]>(['agent', 'reregistered']),
    /** An agent's stream ended; it has until the re-registration timeout to come back. */
    agentDisconnected: new SyncHook<[AgentRecord]>(['agent']),
    /** An agent was removed; its tasks became LOST. */
    agentRemoved: new SyncHook<[AgentRecord, string]>(['agent', 'reason']),
    /** A framework subscribed or re-subscribed. */
    frameworkSubscribed: new SyncHook<[FrameworkRecord, boolean]>(['framework', 'resubscribed']),
    /** A framework was torn down or its failover timeout expired. */
    frameworkRemoved: new SyncHook<[FrameworkRecord, string]>(['framework', 'reason']),
    /** Offers were sent to a framework. */
    offersSent: new SyncHook<[FrameworkRecord, Offer[]]>(['framework', 'offers']),
    /**
     * Veto point for each task of a valid ACCEPT: return a message to refuse the launch
     * (the whole ACCEPT fails and nothing launches). Quota and authority plugins tap it.
     */
    validateLaunch: new SyncBailHook<[TaskInfo, FrameworkInfo], string | undefined>(['task', 'framework']),
    /** A task was sent to its agent. */
    taskLaunched: new SyncHook<[Task]>(['task']),
    /** A status update arrived (from an agent or made by the master). */
    statusUpdate: new SyncHook<[TaskStatus]>(['status']),
    /** An operator set role weights; the registry persists them. */
    weightsChanged: new SyncHook<[readonly RoleWeight[]]>(['weights']),
  });
}

/** The master's hooks. */
export type MasterHooks = ReturnType<typeof createMasterHooks>;

/** A master plugin. */
export interface MasterPlugin {
  readonly name: string;
  apply(master: { readonly hooks: MasterHooks }): void;
}
