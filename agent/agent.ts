/**
 * The agent: discovers its machine, registers with the master, runs the tasks it is sent and
 * reports their states until the master acknowledges them.
 */
import { mkdir } from 'node:fs/promises';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import type { MasterMessage, RegisterAgent, RunTask } from '../proto/gen/galaxy/v1/agent.js';
import { createLogger, type Logger } from '../core/logger.js';
import { GalaxyError, isGalaxyError } from '../core/errors.js';
import { StatusUpdateStream } from '../core/status-update-stream.js';
import { isTerminal, stateName } from '../core/task-state.js';
import { discoverMachine, type MachineInfo } from './discovery.js';
import { callHook, createAgentHooks, type AgentHooks, type AgentPlugin } from './hooks.js';
import type { Launcher } from './launcher.js';
import type { ContainerUsage } from '../isolators/isolator.js';
import { MasterLink } from './master-link.js';
import { Checkpointer, type TaskCheckpoint } from './checkpoint.js';
import { SandboxGc } from './sandbox-gc.js';
import { AgentLogService } from './logs/log-service.js';
import type { LogRotation } from '../core/task-logs.js';
import { createLauncher } from './containerizer/index.js';
import { ProcessLauncher } from './process-launcher.js';
import { TaskRunner } from './task-runner.js';
import { taskTracePlugin } from './plugins/task-trace.js';
import { agentStatus } from './status.js';
import { validateRunTask } from './task-validation.js';
import { collectUsage } from './usage.js';
import { registerAgent } from './registration.js';
import { CREDENTIAL_FILE, readCredential, saveCredential } from './credential.js';
import type { TlsFiles } from '../core/tls.js';
import { join } from 'node:path';

/** How to start an agent. */
export interface AgentOptions {
  /** The master, `host:port`. */
  readonly master: string;
  /**
   * What the agent first registers with: a join token (exchanged at the first registration for
   * the agent's own credential), or a credential or admin's token. A credential kept in
   * `<work-dir>/meta/credential` is used instead when there is one. None for an open master.
   */
  readonly token?: string;
  /** TLS towards the master: its CA, and this agent's certificate and key for mutual TLS. */
  readonly tls?: TlsFiles;
  /** Sandboxes and checkpoints live here. */
  readonly workDir: string;
  /** Resource overrides, e.g. `cpus:2;mem:4GiB`. */
  readonly resources?: string;
  /** Labels, e.g. `rack:r1;zone:z1`. */
  readonly attributes?: string;
  readonly pool?: string;
  readonly hostname?: string;
  /** Static reservations, e.g. `eng:cpus=2,mem=4GiB;ops:cpus=1` (`galaxy agent --reserve`). */
  readonly reserve?: string;
  readonly logLevel?: string;
  /** Plugins applied after the built-in ones, in order (`galaxy agent --plugin`: see {@link loadAgentPlugins}). */
  readonly plugins?: readonly AgentPlugin[];
  /** The launcher to use instead of the one `isolation` chooses (tests, custom containerizers). */
  readonly launcher?: Launcher;
  /** Isolators for Linux containers, e.g. `cpu,memory,pids`; unset = plain processes. */
  readonly isolation?: string;
  /** This agent's own cgroup root (default derived from the work dir). */
  readonly cgroupRoot?: string;
  /** Host paths bind volumes may come from, `path[:rw],…` (`--allowed-host-paths`); none by default. */
  readonly allowedHostPaths?: string;
  /** Host uids of the containers' user namespaces, `FIRST[:COUNT]` (`--uid-range`). */
  readonly uidRange?: string;
  /** Size of the cache of root filesystem images, e.g. `8GiB` (`--image-cache`). */
  readonly imageCache?: string;
  /** How containers' stdout and stderr are rotated (`--log-max-size`, `--log-max-files`; default 10 MiB × 5). */
  readonly logRotation?: LogRotation;
  /** How long a finished task's sandbox is kept before it is deleted (default one hour). */
  readonly sandboxGcDelayMs?: number;
  /** Status update retry: first delay and ceiling (ms). */
  readonly statusRetry?: { readonly initialMs: number; readonly maxMs: number };
}

/** How long a shutting-down agent waits for the master to acknowledge its tasks' ends. */
const SHUTDOWN_ACK_WAIT_MS = 10_000;

function runnerKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}

/** A running agent. */
export class Agent {
  /** The agent's extension points: the one hooks object of this host, shared with its containerizer. */
  readonly hooks: AgentHooks;
  /** Tasks by `frameworkId/taskId`, until their terminal update is acknowledged. */
  readonly tasks = new Map<string, TaskRunner>();
  private id = '';
  private readonly updates: StatusUpdateStream;
  private readonly link: MasterLink;
  private readonly launcher: Launcher;
  private readonly checkpoints: Checkpointer;
  private readonly gc: SandboxGc;
  /** Answers the master's reads of task output (`galaxy logs`). */
  private readonly logs: AgentLogService;
  private settleRefusal: (error: GalaxyError) => void = () => undefined;
  /**
   * Settles when the master refuses this agent's identity for good (its credential was revoked,
   * its join token expired or used up, or it tried to register as another agent): the agent has
   * stopped talking to the master, and its tasks run on unsupervised by the master.
   */
  readonly refused: Promise<GalaxyError> = new Promise((resolve) => {
    this.settleRefusal = resolve;
  });
  private settleShutdown: (requestedBy: string) => void = () => undefined;
  private shuttingDown = false;
  /**
   * Settles (with who asked) once the master's `galaxy agent shutdown` is carried out: every task
   * was killed and the agent has stopped. `galaxy agent` exits then.
   */
  readonly shutDown: Promise<string> = new Promise((resolve) => {
    this.settleShutdown = resolve;
  });
  /** Checkpoint writes and removals in flight: a stopping agent waits for them, so the disk says what runs. */
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly options: AgentOptions,
    readonly machine: MachineInfo,
    readonly log: Logger,
    launcher: Launcher = new ProcessLauncher(),
    hooks: AgentHooks = createAgentHooks(),
  ) {
    this.hooks = hooks;
    this.launcher = options.launcher ?? launcher;
    this.checkpoints = new Checkpointer(options.workDir, (path, reason) => {
      log.warn({ path }, `checkpoint ${path} is torn and is skipped: ${reason}`);
    });
    this.gc = new SandboxGc(options.workDir, options.sandboxGcDelayMs ?? 3_600_000, log);
    this.logs = new AgentLogService(options.workDir, (frameworkId, taskId) => {
      const runner = this.tasks.get(runnerKey(frameworkId, taskId));
      return runner ? { sandbox: runner.sandbox, running: () => !isTerminal(runner.state) } : undefined;
    });
    this.updates = new StatusUpdateStream({
      send: (status) => this.link.send({ message: { $case: 'statusUpdate', statusUpdate: { status } } }),
      initialRetryMs: options.statusRetry?.initialMs ?? 1000,
      maxRetryMs: options.statusRetry?.maxMs ?? 10_000,
    });
    this.link = new MasterLink(
      options.master,
      {
        registration: () => this.registration(),
        message: (m) => {
          this.handle(m);
        },
        refused: (error) => {
          this.settleRefusal(error);
        },
      },
      log,
      options.token,
      options.tls,
    );
    // Built-in behaviour is a plugin too, applied first so user plugins see a traced agent.
    for (const plugin of [taskTracePlugin(log), ...(options.plugins ?? [])]) plugin.apply(this);
  }

  /** The id the master gave this agent ('' before the first registration). */
  get agentId(): string {
    return this.id;
  }

  /** True when tasks run in Linux containers rather than as plain processes. */
  get containerized(): boolean {
    return this.launcher.name === 'linux';
  }

  /** True while registered with the master. */
  get connected(): boolean {
    return this.link.connected;
  }

  /**
   * Re-attaches to the containers this work dir's checkpoints name (after a restart, even after
   * `kill -9`), then removes the containers nobody checkpointed. Call before {@link Agent.start}.
   */
  async recover(): Promise<number> {
    await this.gc.start();
    this.id = await this.checkpoints.agentId();
    let recovered = 0;
    if (this.launcher.recover) {
      for (const checkpoint of await this.checkpoints.tasks()) {
        const runner = this.runner(checkpoint.framework, checkpoint.info, checkpoint);
        this.tasks.set(runnerKey(checkpoint.framework.id, checkpoint.info.taskId), runner);
        // Attach before the orphan sweep below, or the sweep would take the container for an orphan.
        await runner.resume(this.launcher, checkpoint.pid).catch((error: unknown) => {
          this.log.error({ task: checkpoint.info.taskId, err: String(error) }, 'could not re-attach');
        });
        recovered += 1;
      }
    }
    const orphans = (await this.launcher.removeOrphans?.()) ?? [];
    if (recovered > 0 || orphans.length > 0)
      this.log.info({ recovered, orphans }, 'recovered containers; removed orphans');
    return recovered;
  }

  /** Connects to the master. */
  start(): void {
    this.link.start();
  }

  /** Usage statistics of a task's container (empty for plain processes). */
  async usage(frameworkId: string, taskId: string): Promise<ContainerUsage> {
    const runner = this.tasks.get(runnerKey(frameworkId, taskId));
    if (!runner)
      throw new GalaxyError('GALAXY_E_TASK_UNKNOWN', `no task ${taskId} of framework ${frameworkId} on this agent`);
    return (await this.launcher.usage?.(runner.containerId)) ?? {};
  }

  /**
   * Leaves every container running with its checkpoint, and disconnects: what a stop signal does
   * to `galaxy agent` (`systemctl restart`, an upgrade). The next agent on this work dir, of this
   * version or a newer one, re-attaches ({@link Agent.recover}), as after `kill -9`; meanwhile the
   * tasks run on and their published ports keep answering (the kernel holds them). Plain processes
   * cannot be re-attached: a launcher without `recover` has its tasks stopped as by {@link Agent.stop}.
   */
  async detach(): Promise<'detached' | 'stopped'> {
    if (!this.launcher.recover) {
      await this.stop();
      return 'stopped';
    }
    await Promise.allSettled([...this.writing]);
    // With no task there is nothing to keep: leave no cgroup root behind either.
    if (this.tasks.size === 0) await this.launcher.close?.();
    this.gc.stop();
    this.updates.stop();
    this.link.stop();
    return 'detached';
  }

  /**
   * Kills every task (with its grace), removes their checkpoints and containers, and disconnects:
   * nothing is left to recover (`galaxy agent shutdown`, `galaxy up` on Ctrl-C).
   */
  async stop(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((runner) => runner.kill()));
    // A clean stop leaves nothing to recover (nor a checkpoint write still landing after it).
    await Promise.allSettled([...this.writing]);
    await Promise.all([...this.tasks.values()].map((r) => this.checkpoints.removeTask(r.framework.id, r.info.taskId)));
    await this.launcher.close?.();
    this.gc.stop();
    this.updates.stop();
    this.link.stop();
  }

  private registration(): RegisterAgent {
    return registerAgent(this.id, this.machine, this.tasks.values());
  }

  private handle(message: MasterMessage): void {
    const body = message.message;
    switch (body?.$case) {
      case 'registered': {
        this.id = body.registered.agentId;
        const credential = body.registered.credential;
        if (credential !== '') this.link.useToken(credential);
        callHook(this.log, 'registered', () => {
          this.hooks.registered.call(this.id);
        });
        void this.remember(this.id, credential);
        this.updates.flush();
        return;
      }
      case 'ping':
        this.link.send({ message: { $case: 'pong', pong: { seq: body.ping.seq } } });
        return;
      case 'runTask':
        this.run(body.runTask);
        return;
      case 'killTask':
        this.kill(body.killTask.frameworkId, body.killTask.taskId);
        return;
      case 'ack':
        this.acknowledge(body.ack.frameworkId, body.ack.taskId, body.ack.uuid);
        return;
      case 'shutdownFramework':
        for (const runner of this.tasks.values())
          if (runner.framework.id === body.shutdownFramework.frameworkId) void runner.kill();
        return;
      case 'frameworkMessage':
        callHook(this.log, 'frameworkMessage', () => {
          this.hooks.frameworkMessage.call(body.frameworkMessage);
        });
        return;
      case 'usageRequest':
        void this.reportUsage(body.usageRequest.requestId);
        return;
      case 'shutdown':
        void this.shutdown(body.shutdown.requestedBy);
        return;
      case 'logRead':
        void this.logs.answer(body.logRead).then((logData) => {
          this.link.send({ message: { $case: 'logData', logData } });
        });
        return;
      case 'error':
      case undefined:
        return;
    }
  }

  /**
   * Carries out `galaxy agent shutdown`: kills every task, gives their ends a few seconds to be
   * acknowledged (the master removes the agent once it goes, and reports what was not as lost), then
   * stops for good.
   */
  private async shutdown(requestedBy: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.warn({ requestedBy }, 'shutting down as asked: killing every task');
    await Promise.all([...this.tasks.values()].map((runner) => runner.kill()));
    const deadline = Date.now() + SHUTDOWN_ACK_WAIT_MS;
    while (
      Date.now() < deadline &&
      [...this.tasks.values()].some((r) => this.updates.latest(r.framework.id, r.info.taskId))
    )
      await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      await this.stop();
    } finally {
      this.log.warn({ requestedBy, left: this.tasks.size }, 'shut down: every task was killed');
      this.settleShutdown(requestedBy);
    }
  }

  /**
   * Keeps the agent id and, after a join token was exchanged, the credential (first: an id kept
   * without its credential could only register again with the spent join token).
   */
  private async remember(id: string, credential: string): Promise<void> {
    try {
      if (credential !== '') {
        await saveCredential(this.options.workDir, credential);
        this.log.info(
          { agent: id },
          `keeping this agent's credential in ${join(this.options.workDir, CREDENTIAL_FILE)}`,
        );
      }
      await this.checkpoints.saveAgentId(id);
    } catch (error) {
      this.log.error({ err: String(error) }, 'could not keep the agent id or credential');
    }
  }

  /** Answers the master's usage request with what the isolators measure of every live task. */
  private async reportUsage(requestId: number): Promise<void> {
    const tasks = await collectUsage(this.launcher, this.id, this.tasks.values());
    this.link.send({ message: { $case: 'usage', usage: { requestId, tasks } } });
  }

  /** Starts a task, or answers with TASK_ERROR when the RunTask is malformed or a duplicate. */
  private run(request: RunTask): void {
    let framework: FrameworkInfo;
    let task: TaskInfo;
    try {
      ({ framework, task } = validateRunTask(request));
    } catch (error) {
      const message = isGalaxyError(error) ? error.message : String(error);
      const taskId = request.task?.taskId ?? '';
      // Without a task id there is nobody to report to; the master's own validation should never let this through.
      if (taskId === '') this.log.warn({ err: message }, 'ignored a RunTask without a task id');
      else this.refuse(request.framework?.id ?? '', taskId, 'invalid-task', message);
      return;
    }
    const key = runnerKey(framework.id, task.taskId);
    const existing = this.tasks.get(key);
    if (existing && !isTerminal(existing.state)) {
      const message = `GALAXY_E_TASK_DUPLICATE: task ${task.taskId} is already ${stateName(existing.state)} on this agent`;
      this.refuse(framework.id, task.taskId, 'duplicate-task', message);
      return;
    }
    const runner = this.runner(framework, task);
    this.tasks.set(key, runner);
    void runner.start();
  }

  private runner(framework: FrameworkInfo, task: TaskInfo, recovered?: TaskCheckpoint): TaskRunner {
    const runner: TaskRunner = new TaskRunner(
      framework,
      task,
      {
        agentId: () => this.id,
        workDir: this.options.workDir,
        launcher: this.launcher,
        hooks: this.hooks,
        log: this.log,
        emit: (status) => {
          this.emit(status);
          // Once it runs, the task is worth re-attaching to after a restart.
          if (status.state === TaskState.TASK_RUNNING && runner.pid !== undefined) {
            this.track(
              this.checkpoints.saveTask({
                framework,
                info: task,
                containerId: runner.containerId,
                sandbox: runner.sandbox,
                pid: runner.pid,
                state: status.state,
              }),
            );
          }
        },
      },
      recovered,
    );
    return runner;
  }

  /** Keeps `write` in {@link Agent.writing} until it settles. */
  private track(write: Promise<void>): void {
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write)).catch(() => undefined);
  }

  private kill(frameworkId: string, taskId: string): void {
    const runner = this.tasks.get(runnerKey(frameworkId, taskId));
    if (runner) {
      void runner.kill();
      return;
    }
    // The master thinks it runs here, but it does not: say so, so the master can settle it.
    this.emit(
      agentStatus({
        taskId,
        frameworkId,
        agentId: this.id,
        state: TaskState.TASK_LOST,
        reason: 'task-unknown-to-agent',
        message: 'the agent does not know this task',
      }),
    );
  }

  private acknowledge(frameworkId: string, taskId: string, uuid: string): void {
    if (!this.updates.acknowledge(frameworkId, taskId, uuid)) return;
    const key = runnerKey(frameworkId, taskId);
    const runner = this.tasks.get(key);
    if (runner && isTerminal(runner.state) && !this.updates.latest(frameworkId, taskId)) {
      this.tasks.delete(key);
      this.track(this.checkpoints.removeTask(frameworkId, taskId));
      this.gc.schedule(runner.sandbox);
    }
  }

  private emit(status: TaskStatus): void {
    callHook(this.log, 'statusUpdate', () => {
      this.hooks.statusUpdate.call(status);
    });
    this.updates.enqueue(status);
  }

  /** Answers a RunTask it will not run with a TASK_ERROR (delivered like any other update). */
  private refuse(frameworkId: string, taskId: string, reason: string, message: string): void {
    this.emit(agentStatus({ taskId, frameworkId, agentId: this.id, state: TaskState.TASK_ERROR, reason, message }));
  }
}

/** Discovers the machine, creates the agent and connects it to the master. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const log = createLogger('agent', options.logLevel);
  await mkdir(options.workDir, { recursive: true });
  const machine = await discoverMachine(options);
  // One hooks object for the host: the agent's plugins and the containerizer's isolators tap it.
  const hooks = createAgentHooks();
  const launcher =
    options.launcher ??
    (await createLauncher({
      workDir: options.workDir,
      isolation: options.isolation,
      cgroupRoot: options.cgroupRoot,
      allowedHostPaths: machine.allowedHostPaths,
      uidRange: options.uidRange,
      hooks,
      imageCache: options.imageCache,
      ...(options.logRotation ? { logRotation: options.logRotation } : {}),
      log,
    }));
  // A credential kept from an earlier registration is this agent's identity from then on.
  const credential = await readCredential(options.workDir);
  const agent = new Agent(
    credential === undefined ? options : { ...options, token: credential },
    machine,
    log,
    launcher,
    hooks,
  );
  await agent.recover();
  agent.start();
  return agent;
}
