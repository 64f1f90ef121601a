/**
 * The master's extension points, declared in one place. A plugin (`plugin.ts`) taps these hooks;
 * the master's own behaviour beyond its core (authorization, machines, reservations, preemption,
 * accounting, the registry, the event trace) is written as such plugins.
 */
import { AsyncSeriesHook, SyncBailHook, SyncHook } from 'tapable';
import type { AgentInfo, FrameworkInfo, Offer, Task, TaskInfo, TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import type { AgentRecord, FrameworkRecord } from './records.js';
import type { RoleWeight } from '../allocators/allocator.js';

/** Where a launch goes: the hooks' view of one LAUNCH of an ACCEPT. */
export interface LaunchTarget {
  /** The framework's owner: the user it acts for. */
  readonly owner: string;
  /** The role the task runs in (of the offers accepted). */
  readonly role: string;
  /** The agent the task goes to. */
  readonly agentId: string;
}

/** Creates the master's frozen hooks object. */
export function createMasterHooks() {
  return Object.freeze({
    /**
     * The master is about to serve (once, before its port listens): load what must be there
     * before the first call, e.g. grants and the registry. A rejection keeps the master from starting.
     */
    starting: new AsyncSeriesHook<[]>([]),
    /** The master serves: start timers. */
    started: new SyncHook<[]>([]),
    /** The master stops serving: stop timers and watches, flush what must be kept. */
    stopping: new SyncHook<[]>([]),
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
    /** A framework's event stream ended: its failover timeout runs. */
    frameworkDisconnected: new SyncHook<[FrameworkRecord]>(['framework']),
    /** A framework was torn down or its failover timeout expired. */
    frameworkRemoved: new SyncHook<[FrameworkRecord, string]>(['framework', 'reason']),
    /** Offers were sent to a framework. */
    offersSent: new SyncHook<[FrameworkRecord, Offer[]]>(['framework', 'offers']),
    /**
     * Veto point for each task of a valid ACCEPT, once its agent is known to be connected: return
     * a message to refuse the launch (GALAXY_E_TASK_INVALID), or throw a GalaxyError to refuse it
     * with that error's code. Either way the whole ACCEPT fails and nothing launches. The
     * authorization plugin taps it (roles, pool authorities, bands, sandbox authorities).
     */
    validateLaunch: new SyncBailHook<[TaskInfo, FrameworkInfo, LaunchTarget], string | undefined>([
      'task',
      'framework',
      'target',
    ]),
    /** A task was sent to its agent. */
    taskLaunched: new SyncHook<[Task]>(['task']),
    /** A status update arrived (from an agent or made by the master). */
    statusUpdate: new SyncHook<[TaskStatus]>(['status']),
    /** An admin set an agent's mode (online, offline, draining); `actor` is who. */
    agentModeChanged: new SyncHook<[string, string, string, string]>(['agentId', 'mode', 'before', 'actor']),
    /** An operator set role weights; the registry persists them. */
    weightsChanged: new SyncHook<[readonly RoleWeight[]]>(['weights']),
  });
}

/** The master's hooks. */
export type MasterHooks = ReturnType<typeof createMasterHooks>;
