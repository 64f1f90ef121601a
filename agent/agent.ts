/**
 * The agent: discovers its machine, registers with the master, runs the tasks it is sent and
 * reports their states until the master acknowledges them. This class composes the parts: the
 * link to the master (./master-link.ts) and what each message means (./master-messages.ts), the
 * tasks (./task-book.ts), their checkpoints (./checkpoint-writer.ts), and the launcher.
 */
import { realpathSync } from 'node:fs';
import { destroyPersistentVolume } from '../isolators/disk-volumes/destroy.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegisterAgent } from '../proto/gen/galaxy/v1/agent.js';
import { createLogger, type Logger } from '../core/logger.js';
import { GalaxyError } from '../core/errors.js';
import { isTerminal } from '../core/task-state.js';
import { StatusUpdateStream } from '../core/status-update-stream.js';
import { StatusOutbox } from './status-outbox.js';
import { discoverMachine, type MachineInfo } from './discovery.js';
import { EPHEMERAL_RANGE_FILE, offeredEphemeralPorts } from './ephemeral-ports.js';
import { formatRanges } from '../core/ranges.js';
import { callHook, createAgentHooks, type AgentHooks } from './hooks.js';
import type { Launcher } from './launcher.js';
import type { ContainerUsage } from '../isolators/isolator.js';
import { MasterLink } from './master-link.js';
import { handleMasterMessage, type MasterMessageHandlers } from './master-messages.js';
import { Checkpointer } from './checkpoint.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import { SandboxGc } from './sandbox-gc.js';
import { AgentLogService } from './logs/log-service.js';
import { createLauncher } from './containerizer/index.js';
import { ProcessLauncher } from './process-launcher.js';
import type { TaskRunner } from './task-runner.js';
import { TaskBook } from './task-book.js';
import { taskTracePlugin } from './plugins/task-trace.js';
import { collectUsage } from './usage.js';
import { AgentMetrics } from './metrics.js';
import { CpuLendController } from './cpu-lend/controller.js';
import { cpuLendConfig } from './cpu-lend/config.js';
import { ProcStatIdle } from './cpu-lend/idle.js';
import { registerAgent } from './registration.js';
import { CREDENTIAL_FILE, readCredential, saveCredential } from './credential.js';
import type { AgentOptions } from './options.js';
import { OversubscriptionController } from './oversubscription/controller.js';
import { MachineSampler } from './oversubscription/machine-load.js';
import { KeptVolumeReporter } from './disks/kept-volumes.js';

export type { AgentOptions } from './options.js';

/** How long a shutting-down agent waits for the master to acknowledge its tasks' ends. */
const SHUTDOWN_ACK_WAIT_MS = 10_000;

/** A running agent. */
export class Agent {
  /** The agent's extension points: the one hooks object of this host, shared with its containerizer. */
  readonly hooks: AgentHooks;
  /** The agent's Prometheus metrics (`metrics.ts`; served by `galaxy agent --metrics-listen`). */
  readonly metrics: AgentMetrics;
  /** Lends idle cpu to soft-limited containers (`cpu-lend/`); a plugin on the container hooks. */
  readonly cpuLend: CpuLendController;
  private id = '';
  private readonly updates: StatusUpdateStream;
  /** Coalesces the updates' writes to the master (./status-outbox.ts). */
  private readonly outbox: StatusOutbox;
  private readonly link: MasterLink;
  private readonly launcher: Launcher;
  private readonly checkpoints: Checkpointer;
  private readonly writer: CheckpointWriter;
  private readonly gc: SandboxGc;
  private readonly book: TaskBook;
  /** Answers the master's reads of task output (`galaxy logs`). */
  private readonly logs: AgentLogService;
  /** The resource estimator and QoS controller, with `--oversubscribe` on a containerizing agent. */
  private readonly oversubscription: OversubscriptionController | undefined;
  /** Reports the persistent volumes kept with no container (docs/disks.md, "Held volumes"). */
  private readonly keptVolumes: KeptVolumeReporter;
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
    this.writer = new CheckpointWriter(this.checkpoints);
    this.gc = new SandboxGc(options.workDir, options.sandboxGcDelayMs ?? 3_600_000, log);
    this.logs = new AgentLogService(options.workDir, (frameworkId, taskId) => {
      const runner = this.book.get(frameworkId, taskId);
      return runner ? { sandbox: runner.sandbox, running: () => !isTerminal(runner.state) } : undefined;
    });
    this.outbox = new StatusOutbox({
      write: (message, written) => this.link.send(message, written),
      connected: () => this.link.connected,
    });
    this.updates = new StatusUpdateStream({
      send: (status) => this.outbox.send(status),
      initialRetryMs: options.statusRetry?.initialMs ?? 1000,
      maxRetryMs: options.statusRetry?.maxMs ?? 10_000,
      onRetry: (updates) => {
        this.metrics.statusUpdateRetries += updates;
      },
    });
    this.book = new TaskBook({
      agentId: () => this.id,
      workDir: options.workDir,
      launcher: this.launcher,
      hooks,
      log,
      updates: this.updates,
      checkpoints: this.writer,
      gc: this.gc,
    });
    this.link = new MasterLink(
      options.master,
      {
        registration: () => this.registration(),
        message: (m) => {
          handleMasterMessage(this.link, m, this.handlers);
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
    // The agent's own taps first (its metrics, its trace), so user plugins see a measured, traced agent.
    this.cpuLend = new CpuLendController(cpuLendConfig(options.cpuLend), options.cpuLend?.idle ?? new ProcStatIdle());
    this.metrics = new AgentMetrics(this, this.outbox);
    this.oversubscription = this.oversubscriptionController();
    this.keptVolumes = new KeptVolumeReporter({
      disks: machine.disks,
      workDir: () => realpathSync(options.workDir),
      send: (volumes) => this.link.send({ message: { $case: 'keptVolumes', keptVolumes: { volumes } } }),
      log,
    });
    // A container ends (its volumes unmounted before its end is reported) or starts: the set may change.
    if (machine.disks.length > 0)
      hooks.statusUpdate.tap('kept-volumes', (status) => void this.keptVolumes.refresh(isTerminal(status.state)));
    for (const plugin of [taskTracePlugin(log), this.cpuLend, ...(options.plugins ?? [])]) plugin.apply(this);
  }

  /** Tasks by `frameworkId/taskId`, until their terminal update is acknowledged. */
  get tasks(): Map<string, TaskRunner> {
    return this.book.tasks;
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
        // Attach before the orphan sweep below, or the sweep would take the container for an orphan.
        await this.book.resume(checkpoint).catch((error: unknown) => {
          this.log.error({ task: checkpoint.info.taskId, err: String(error) }, 'could not re-attach');
        });
        recovered += 1;
      }
    }
    const orphans = (await this.launcher.removeOrphans?.()) ?? [];
    if (this.machine.disks.length > 0) await this.keptVolumes.refresh();
    if (recovered > 0 || orphans.length > 0)
      this.log.info({ recovered, orphans }, 'recovered containers; removed orphans');
    return recovered;
  }

  /** Connects to the master. */
  start(): void {
    this.link.start();
    this.oversubscription?.start();
  }

  /** Usage statistics of a task's container (empty for plain processes). */
  async usage(frameworkId: string, taskId: string): Promise<ContainerUsage> {
    const runner = this.book.get(frameworkId, taskId);
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
    await this.writer.settled();
    // The containers keep their loans until the next agent re-attaches and resets them.
    await this.cpuLend.stop();
    // With no task there is nothing to keep: leave no cgroup root behind either.
    if (this.tasks.size === 0) await this.launcher.close?.();
    this.gc.stop();
    this.oversubscription?.stop();
    this.updates.stop();
    this.link.stop();
    return 'detached';
  }

  /**
   * Kills every task (with its grace), removes their checkpoints and containers, and disconnects:
   * nothing is left to recover (`galaxy agent shutdown`, `galaxy up` on Ctrl-C).
   */
  async stop(): Promise<void> {
    await this.book.killAll();
    // A clean stop leaves nothing to recover (nor a checkpoint write still landing after it).
    await this.book.forgetAll();
    await this.cpuLend.stop();
    await this.launcher.close?.();
    this.gc.stop();
    this.oversubscription?.stop();
    this.updates.stop();
    this.link.stop();
  }

  /** The oversubscription controller `--oversubscribe` asks for; none for plain processes, whose usage is not measured. */
  private oversubscriptionController(): OversubscriptionController | undefined {
    const options = this.options.oversubscribe;
    if (!options) return undefined;
    if (!this.containerized) {
      this.log.warn(
        '--oversubscribe needs containers (--isolation): plain processes are not measured; not oversubscribing',
      );
      return undefined;
    }
    const machine = new MachineSampler();
    return new OversubscriptionController(
      {
        runners: () => this.tasks.values(),
        usage: async (containerId) => (await this.launcher.usage?.(containerId)) ?? {},
        machine: () => machine.sample(),
        report: (estimate) => {
          this.log.info(estimate, 'revocable estimate changed; reporting it');
          this.link.send({
            message: {
              $case: 'revocableEstimate',
              revocableEstimate: { resources: { cpus: estimate.cpus, mem: estimate.mem, disk: 0, gpus: 0, ports: [] } },
            },
          });
        },
        log: this.log,
      },
      options,
    );
  }

  private registration(): RegisterAgent {
    return registerAgent(this.id, this.machine, this.tasks.values(), this.keptVolumes.forRegistration());
  }

  /** What each message of the master means to this agent (./master-messages.ts dispatches). */
  private readonly handlers: MasterMessageHandlers = {
    registered: (agentId, credential) => {
      this.id = agentId;
      if (credential !== '') this.link.useToken(credential);
      this.oversubscription?.registered();
      callHook(this.log, 'registered', () => {
        this.hooks.registered.call(this.id);
      });
      void this.remember(this.id, credential);
      // A new stream: what was queued for the old one is resent, in order, by the flush.
      this.outbox.reset();
      this.updates.flush();
    },
    runTask: (request) => {
      this.book.run(request);
    },
    killTask: (frameworkId, taskId) => {
      this.book.kill(frameworkId, taskId);
    },
    acknowledge: (frameworkId, taskId, uuid) => {
      this.book.acknowledge(frameworkId, taskId, uuid);
    },
    shutdownFramework: (frameworkId) => {
      this.book.killFramework(frameworkId);
    },
    frameworkMessage: (message) => {
      callHook(this.log, 'frameworkMessage', () => {
        this.hooks.frameworkMessage.call(message);
      });
    },
    usageRequest: (requestId) => {
      void this.reportUsage(requestId);
    },
    shutdown: (requestedBy) => {
      void this.shutdown(requestedBy);
    },
    destroyVolume: (frameworkId, volumeId) => {
      void this.destroyVolume(frameworkId, volumeId);
    },
    logRead: (request) => {
      void this.logs.answer(request).then((logData) => {
        this.link.send({ message: { $case: 'logData', logData } });
      });
    },
  };

  /**
   * Carries out `galaxy agent shutdown`: kills every task, gives their ends a few seconds to be
   * acknowledged (the master removes the agent once it goes, and reports what was not as lost), then
   * stops for good.
   */
  private async shutdown(requestedBy: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.warn({ requestedBy }, 'shutting down as asked: killing every task');
    await this.book.killAll();
    const deadline = Date.now() + SHUTDOWN_ACK_WAIT_MS;
    while (Date.now() < deadline && this.book.unacknowledged()) await new Promise((resolve) => setTimeout(resolve, 50));
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

  /** Deletes a framework's persistent disk volume, now or once its container ends (docs/disks.md). */
  private async destroyVolume(frameworkId: string, volumeId: string): Promise<void> {
    const key = `${frameworkId}/${volumeId}`;
    try {
      const done = await destroyPersistentVolume(this.machine.disks, realpathSync(this.options.workDir), key, true);
      this.log.info({ volume: key, done }, 'persistent volume destroyed');
      await this.keptVolumes.refresh();
    } catch (error) {
      this.log.warn({ volume: key, err: String(error) }, 'could not destroy a persistent volume');
    }
  }

  /** Answers the master's usage request with what the isolators measure of every live task. */
  private async reportUsage(requestId: number): Promise<void> {
    const tasks = await collectUsage(this.launcher, this.id, this.tasks.values());
    this.link.send({ message: { $case: 'usage', usage: { requestId, tasks } } });
  }
}

/** Logs each disk (where it came from, its medium, size and how its volumes are held to size) and what discovery skipped. */
function logDisks(log: Logger, machine: MachineInfo): void {
  for (const warning of machine.diskWarnings) log.warn(warning);
  for (const { resource, path, source, quota } of machine.disks)
    log.info(
      { disk: resource.name, path, source, medium: resource.medium, bytes: resource.size, ...quota },
      quota.projectQuota
        ? `disk ${resource.name}: its filesystem enforces project quotas, but volumes are loop images (no project-quota backend yet)`
        : `disk ${resource.name}: volumes are loop images`,
    );
}

/** Discovers the machine, creates the agent and connects it to the master. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const log = createLogger('agent', options.logLevel);
  cpuLendConfig(options.cpuLend); // a bad --cpu-lend-* flag stops the agent before it makes anything
  await mkdir(options.workDir, { recursive: true });
  const machine = await discoverMachine(options);
  logDisks(log, machine);
  const risky = await offeredEphemeralPorts(machine.total.ports);
  if (risky.length > 0)
    log.warn(
      { ports: formatRanges(risky) },
      `ports ${formatRanges(risky)} are in the kernel's ephemeral range (${EPHEMERAL_RANGE_FILE}): an outgoing connection may hold one when a task needs it; offer ports outside it`,
    );
  // One hooks object for the host: the agent's plugins and the containerizer's isolators tap it.
  const hooks = createAgentHooks();
  const launcher =
    options.launcher ??
    (await createLauncher({
      workDir: options.workDir,
      isolation: options.isolation,
      cgroupRoot: options.cgroupRoot,
      allowedHostPaths: machine.allowedHostPaths,
      disks: machine.disks,
      uidRange: options.uidRange,
      hooks,
      imageCache: options.imageCache,
      ...(options.logRotation ? { logRotation: options.logRotation } : {}),
      ...(options.launchConcurrency ? { launchConcurrency: options.launchConcurrency } : {}),
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
