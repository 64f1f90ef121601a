/**
 * An AppMaster on the SDK's fake master (real gRPC over loopback) and an in-memory coordinator,
 * for unit tests of the AppMaster and of AppMaster plugins: no root, no agents, no containers.
 * The test offers resources, reports task states and pulls as the pods' AppWorkers; the fake
 * master records every call the AppMaster makes. The AppMaster's clock is the test's.
 */
import { MemoryCoordinator } from '../../../core/coordinator/memory.js';
import { createLogger } from '../../../core/logger.js';
import {
  PullRequest,
  WorkerReport,
  type JobStatus,
  type PullResponse,
} from '../../../proto/gen/galaxy/v1/appmaster.js';
import {
  StatusSource,
  TaskState,
  type Offer,
  type TaskInfo,
  type TaskStatus,
} from '../../../proto/gen/galaxy/v1/common.js';
import type { CallResponse, SchedulerCall } from '../../../proto/gen/galaxy/v1/scheduler.js';
import { GrpcSchedulerDriver } from '../../sdk/scheduler-driver.js';
import { startFakeMaster, type FakeMaster } from '../../sdk/testing/fake-master.js';
import { AppMaster } from '../appmaster.js';
import type { AppMasterPlugin } from '../hooks.js';

/** A call's kind, as the proto's oneof names it. */
export type CallKind = NonNullable<SchedulerCall['call']>['$case'];

/** How the harness runs. */
export interface HarnessOptions {
  /** Applied after the AppMaster's own plugins. */
  readonly plugins?: readonly AppMasterPlugin[];
  /** Answers the AppMaster's calls (a PREEMPT's plan), or holds one back (a promise); default `{}`. */
  readonly answer?: (call: SchedulerCall) => CallResponse | undefined | Promise<CallResponse | undefined>;
  /** The driver's call deadline in ms (a call held back longer fails GALAXY_E_UNAVAILABLE); default the driver's. */
  readonly callTimeoutMs?: number;
}

/** A running AppMaster and its fake master. */
export interface AppMasterHarness {
  readonly appmaster: AppMaster;
  readonly master: FakeMaster;
  readonly coordinator: MemoryCoordinator;
  /** The AppMaster's clock in ms; move it on with {@link advance}. */
  now(): number;
  advance(ms: number): void;
  /** Sends OFFERS. */
  offer(...offers: Offer[]): void;
  /** Resolves once the AppMaster has made `count` calls of `kind`: all of them so far. */
  calls(kind: CallKind, count?: number): Promise<SchedulerCall[]>;
  /** Every task launched so far, in order. */
  launched(): TaskInfo[];
  /** The job as `galaxy job show` sees it. */
  show(job: string): Promise<JobStatus>;
  /** Pulls as the AppWorker of `podId` (its current container), reporting `report` (none: a fresh worker). */
  pull(job: string, podId: string, report?: Partial<WorkerReport>): Promise<PullResponse>;
  /** Reports the pod's service running and healthy at `revision`. */
  healthy(job: string, podId: string, revision: number): Promise<PullResponse>;
  /** Sends the status of a task of the pod's current container. */
  taskState(job: string, podId: string, state: TaskState, reason?: string): Promise<void>;
  /** Sends an event as the master would. */
  send: FakeMaster['send'];
  /** Stops the AppMaster, its driver and the fake master. */
  stop(): Promise<void>;
}

/** An agent's offer: 4 cpus, 8 GiB, ports 31000-31099, on `host-<agentId>`. */
export function offerOf(id: string, agentId = 'a1'): Offer {
  return {
    id,
    frameworkId: '',
    agentId,
    hostname: `host-${agentId}`,
    resources: {
      cpus: 4000,
      mem: 8 * 1024 ** 3,
      disk: 100 * 1024 ** 3,
      gpus: 0,
      ports: [{ begin: 31000, end: 31099 }],
    },
    attributes: [],
    pool: '',
    allowedHostPaths: [],
    heldVolumes: [],
  };
}

/** A job spec as JSON: `replicas` pods of version `version`, with `extra` fields. */
export function specJson(name: string, replicas: number, version = '1', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name,
    replicas,
    resources: { cpu: { millicores: '100m' }, memory: { hard: '64Mi' } },
    package: { source: 'file:///pkg/web.tar.gz', version, sha256: 'a'.repeat(64) },
    commands: { start: './run' },
    ...extra,
  });
}

/** Starts an AppMaster subscribed to a fresh fake master. */
export async function startAppMasterHarness(options: HarnessOptions = {}): Promise<AppMasterHarness> {
  let clock = 1_000_000;
  const coordinator = new MemoryCoordinator();
  const master = await startFakeMaster({ heartbeatIntervalS: 0, answer: options.answer });
  const appmaster = new AppMaster({
    coordinator,
    log: createLogger('appmaster', 'silent'),
    worker: () => ({ argv: ['galaxy', 'appworker'], appmasters: ['127.0.0.1:1'] }),
    now: () => clock,
    pullIntervalMs: 1000,
    plugins: options.plugins,
  });
  const driver = new GrpcSchedulerDriver({
    master: master.address,
    framework: { name: 'appmaster', failoverTimeoutS: 60 },
    scheduler: appmaster,
    logger: createLogger('driver', 'silent'),
    reconnect: { initialMs: 50, maxMs: 200 },
    ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
  });
  await driver.start();
  appmaster.attach(driver);
  const show = (job: string) => appmaster.show(job);
  const podOf = async (job: string, podId: string) => {
    const pod = (await show(job)).pods.find((p) => p.podId === podId);
    if (!pod) throw new Error(`job ${job} has no pod ${podId}`);
    return pod;
  };
  const pull = async (job: string, podId: string, report?: Partial<WorkerReport>) => {
    const { taskId } = await podOf(job, podId);
    return appmaster.pull(
      PullRequest.fromPartial({ job, podId, taskId, report: report && WorkerReport.fromPartial(report), waitMs: 0 }),
    );
  };
  return {
    appmaster,
    master,
    coordinator,
    now: () => clock,
    advance: (ms) => {
      clock += ms;
    },
    offer: (...offers) => {
      master.send({ $case: 'offers', offers: { offers } });
    },
    calls: async (kind, count = 1) => {
      const isKind = (call: SchedulerCall) => call.call?.$case === kind;
      const all = () => master.calls.items.filter(isKind);
      for (let n = all().length; n < count; n = all().length)
        await master.calls.waitFor((call) => isKind(call) && all().length >= count, 10_000, `${count} ${kind} calls`);
      return all();
    },
    launched: () =>
      master.calls.items.flatMap((c) =>
        c.call?.$case === 'accept'
          ? c.call.accept.operations.flatMap((o) =>
              o.operation?.$case === 'launch' ? o.operation.launch.taskInfos : [],
            )
          : [],
      ),
    show,
    pull,
    healthy: (job, podId, revision) =>
      pull(job, podId, { phase: 'running', health: 'healthy', revision, dataRevision: revision }),
    taskState: async (job, podId, state, reason = '') => {
      const { taskId, agentId } = await podOf(job, podId);
      const status: TaskStatus = {
        taskId,
        state,
        message: '',
        reason,
        source: StatusSource.SOURCE_AGENT,
        agentId,
        frameworkId: driver.frameworkId,
        timestamp: 0,
        uuid: '',
      };
      master.send({ $case: 'update', update: { status } });
    },
    send: (event) => {
      master.send(event);
    },
    stop: async () => {
      await appmaster.detach();
      await driver.stop();
      await master.stop();
      await coordinator.close();
    },
  };
}
