/**
 * The AppMaster's extension points, declared in one place, as the master's and the agent's are.
 * An AppMaster plugin is `{ name, apply(appmaster) }` and taps these hooks; the AppMaster's own
 * naming publishing, drain handling and preemption requests are written as such plugins
 * (`plugins/`), applied before the plugins of `AppMasterOptions.plugins`.
 *
 * Every hook is called on the event loop inside one of the AppMaster's synchronous steps: a tap
 * sees the job and its pods as they are at that moment and may change them only as its hook says.
 */
import { AsyncSeriesHook, SyncHook, SyncWaterfallHook } from 'tapable';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import type { TaskInfo, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { EventPublisher } from '../sdk/event-publisher.js';
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import type { JobState } from './job-state.js';
import type { JobRecord, Pod } from './model.js';
import type { UpdatePlan } from './update.js';

/** A pod's container about to be launched. */
export interface PodLaunch {
  readonly job: JobState;
  /** Its record already names the task, agent, host and ports. */
  readonly pod: Pod;
  /** The task sent to the master: taps may add labels or environment. */
  readonly task: TaskInfo;
}

/** A pod's container is gone. */
export interface PodEnd {
  readonly job: JobState;
  /** Its record still names the container that ended (task, agent, host, ports). */
  readonly pod: Pod;
  /** `ended`: the master reported the task gone (`status` says how); `agent-lost`: its agent is gone for good. */
  readonly cause: 'ended' | 'agent-lost';
  readonly status?: TaskStatus;
}

/** Creates the AppMaster's frozen hooks object. */
export function createAppMasterHooks() {
  return Object.freeze({
    /** A pod's task is about to go to the master in a LAUNCH. */
    podLaunching: new SyncHook<[PodLaunch]>(['launch']),
    /** A pod's AppWorker reported (every pull), before the update is stepped. */
    podReported: new SyncHook<[JobState, Pod]>(['job', 'pod']),
    /** A pod's container is gone; after the taps the pod waits for a new one, or is dropped. */
    podEnded: new SyncHook<[PodEnd]>(['end']),
    /**
     * The rolling update's next step was planned (`update.ts`): each tap gets the plan and returns
     * the plan carried out (a canary holds pods back, a freeze pauses it). Return the plan as it
     * came to change nothing.
     */
    updatePlanned: new SyncWaterfallHook<[UpdatePlan, JobState]>(['plan', 'job']),
    /** Something the job's pods must hear of changed (spec, targets, state, execs); held pulls are answered. */
    jobChanged: new SyncHook<[JobState]>(['job']),
    /** A job was removed (its pods are being killed); awaited before its owner's claim is released. */
    jobRemoved: new AsyncSeriesHook<[JobRecord]>(['job']),
    /** A tick reconciles a job: after its replicas and update, before its deploy timeouts. */
    reconcilingJob: new SyncHook<[JobState]>(['job']),
    /** A tick reconciled every job. */
    reconciled: new SyncHook<[readonly JobState[]]>(['jobs']),
    /** The framework (re-)subscribed: the master announces its current drains next. */
    subscribed: new SyncHook<[]>([]),
    /** An operator drains an agent (`true`) or ended its drain; a tick follows at once. */
    agentDraining: new SyncHook<[string, boolean]>(['agentId', 'draining']),
  });
}

/** The AppMaster's hooks. */
export type AppMasterHooks = ReturnType<typeof createAppMasterHooks>;

/** What a plugin sees of the AppMaster it is applied to. */
export interface AppMasterHost {
  readonly hooks: AppMasterHooks;
  readonly log: Logger;
  /** Where jobs and naming live. */
  readonly coordinator: Coordinator;
  /** The AppMaster's clock (ms). */
  now(): number;
  /** The scheduler driver once subscribed. */
  driver(): SchedulerDriver | undefined;
  /** Every job the AppMaster holds. */
  jobs(): JobState[];
  /** Kills the pod's container so it is placed again (not counted as a failure of its host). */
  replacePod(job: JobState, pod: Pod): void;
  /** Job and pod events for the master's event log (`galaxy events`), sent in batches. */
  readonly events: EventPublisher;
}

/** An AppMaster plugin. */
export interface AppMasterPlugin {
  readonly name: string;
  apply(appmaster: AppMasterHost): void;
}
