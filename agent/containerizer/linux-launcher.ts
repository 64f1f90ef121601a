/**
 * The Linux containerizer: each task runs in a sandbox (docs/security.md, Part 2) — its own
 * cgroups, pid, mount, uts and ipc namespaces (and net, from the tcp isolator), its own root
 * filesystem, its own user namespace (an unprivileged host uid range), the default capability
 * bounding set and no_new_privs — with isolator plugins setting the limits. One run of the
 * native helper (`native/galaxy-init.c`, forked by the agent's spawner, ./spawner.ts) does all of
 * it; this class plans it, checks what comes
 * from outside (bind sources, users, capabilities), and watches and destroys containers. It
 * implements the same {@link Launcher} interface as plain processes.
 */
import { realpathSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { capabilityMask, parseCapabilities } from '../../core/capabilities.js';
import { GalaxyError } from '../../core/errors.js';
import { Slots } from '../../core/slots.js';
import type { Logger } from '../../core/logger.js';
import type { HostPath } from '../../proto/gen/galaxy/v1/common.js';
import type { CgroupDriver, Controller } from '../../isolators/cgroup-driver.js';
import type { Container, ContainerMount, ContainerUsage, Isolator, Limitation } from '../../isolators/isolator.js';
import type { ExitInfo, LaunchedProcess, Launcher, LaunchSpec, RecoverSpec } from '../launcher.js';
import { commandLine } from '../process-launcher.js';
import { checkMounts, makeMountPoints } from './container-mounts.js';
import { ENV_FD, REPORT_FD, startHelper } from './helper-process.js';
import { traceLaunch } from '../launch-trace.js';
import { RuntimeDir } from './runtime-dir.js';
import { createAgentHooks, type AgentHooks } from '../hooks.js';
import { isolatorsPlugin } from '../plugins/isolators.js';
import { DEFAULT_IMAGE_CACHE_BYTES, ImageStore } from './image-store.js';
import { volumes } from '../../isolators/volumes/index.js';
import { diskVolumesIsolator } from '../../isolators/disk-volumes/index.js';
import type { DiskEntry } from '../../core/disks.js';
import { giveVolume } from './volume-owner.js';
import { identityArgs, identityOf, ownerOf, SERVICE_USER, type Identity } from './identity.js';
import { requireNativeHelper } from './native-helper.js';
import { HelperSpawner } from './spawner.js';
import { planRoot, stepArgs, type HostLayout } from './root-plan.js';
import { DEFAULT_LOG_ROTATION, type LogRotation } from '../../core/task-logs.js';
import { DEFAULT_UID_RANGE, UidBlocks, UID_CLAIMS_DIR, type UidRange } from './uid-blocks.js';

/** How often running containers are checked for breached limits. */
const WATCH_INTERVAL_MS = 100;
/** How often a re-attached container is checked for its end. */
const RECOVERED_POLL_MS = 200;
/** The key of a container's image (its sha256) in its state. */
const IMAGE_STATE = 'containerizer.image';
/** Size of a container's /tmp when it names no memory. */
const DEFAULT_TMP_BYTES = 64 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options of the Linux launcher. */
export interface LinuxLauncherOptions {
  readonly driver: CgroupDriver;
  /** This agent's cgroup root (relative to each hierarchy), e.g. `galaxy/agent-1`; never shared. */
  readonly cgroupRoot: string;
  readonly isolators: readonly Isolator[];
  /**
   * The agent's hooks: the isolators are tapped onto them, and every container runs through
   * them. Default: hooks of the launcher's own (a launcher used without an agent, in tests).
   */
  readonly hooks?: AgentHooks;
  /** The agent's work dir: its runtime state lives there, and it is never bound into a container. */
  readonly workDir: string;
  /** Where bind volumes may come from (`--allowed-host-paths`); none by default. */
  readonly allowedHostPaths?: readonly HostPath[];
  /** The agent's named disks (`--disks`): where DISK volumes are made (docs/disks.md). */
  readonly disks?: readonly DiskEntry[];
  /** Host uids of the containers' user namespaces (`--uid-range`). */
  readonly uidRange?: UidRange;
  /** The host-wide directory of uid claims (tests). */
  readonly uidClaimsDir?: string;
  /** Also a new, empty network namespace (no network unless an isolator provides one). */
  readonly netNamespace?: boolean;
  /** Bytes the cache of root filesystem images may take (`--image-cache`). */
  readonly imageCacheBytes?: number;
  /**
   * Containers set up at once (default twice the cores): a burst of launches waits its turn.
   * Measured with 1,000 batch tasks on 2 cores (load 12–25 from other work): 2 at once gave 20
   * tasks/s, 4 gave 28/s, 8 gave 30/s (load 24), 16 gave 27/s (load 33), each setup taking as
   * much longer as there were more at once (135, 262, 550 ms): past twice the cores they only
   * queue in the kernel and raise the load.
   */
  readonly launchConcurrency?: number;
  /** How each task's output is rotated (default 10 MiB × 5). */
  readonly logRotation?: LogRotation;
  readonly log: Logger;
}

/** Starts tasks as containers. */
export class LinuxLauncher implements Launcher {
  readonly name = 'linux';
  /** The hooks the container lifecycle runs through (the agent's). */
  readonly hooks: AgentHooks;
  private readonly controllers: Controller[];
  private readonly containers = new Map<string, Container>();
  private readonly helper: string;
  /** Forks the helpers, so that the agent never forks itself per container. */
  private readonly spawner: HelperSpawner;
  private readonly workDir: string;
  private readonly runtime: RuntimeDir;
  private readonly uids: UidBlocks;
  /** Root filesystem images, shared by the containers. */
  readonly images: ImageStore;
  /** Containers being set up at once (until the helper says `set`, before the task's exec). */
  private readonly launchSlots: Slots;
  /** Containers named by checkpoints: their exit files are theirs to read, not leftovers. */
  private readonly recovered = new Set<string>();
  private closing = false;
  /** Removals of finished containers' remains, one after the other (see {@link removeLater}). */
  private removals: Promise<void> = Promise.resolve();

  private readonly isolators: readonly Isolator[];

  constructor(private readonly options: LinuxLauncherOptions) {
    // A task's volumes are part of its container: mounted whether or not --isolation names them.
    this.isolators = [
      ...options.isolators,
      ...(options.isolators.some((i) => i.name === volumes.name) ? [] : [volumes]),
      diskVolumesIsolator(options.disks ?? [], realpathSync(options.workDir)),
    ];
    this.hooks = options.hooks ?? createAgentHooks();
    isolatorsPlugin(this.isolators).apply({ hooks: this.hooks, log: options.log });
    // The freezer is always needed: destroy freezes before it kills so nothing forks away.
    const wanted = new Set<Controller>(['freezer', ...this.isolators.flatMap((i) => i.controllers)]);
    const missing = [...wanted].filter((c) => !options.driver.available(c));
    if (missing.length > 0)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `cgroup controllers not available on this machine: ${missing.join(', ')}`,
      );
    this.controllers = [...wanted];
    this.helper = requireNativeHelper();
    this.spawner = new HelperSpawner(this.helper);
    this.workDir = realpathSync(options.workDir);
    this.runtime = new RuntimeDir(join(this.workDir, 'runtime'), this.workDir);
    this.uids = new UidBlocks(
      options.uidRange ?? DEFAULT_UID_RANGE,
      this.workDir,
      options.uidClaimsDir ?? UID_CLAIMS_DIR,
    );
    this.launchSlots = new Slots(options.launchConcurrency ?? Math.max(2, 2 * availableParallelism()));
    this.images = new ImageStore({
      dir: join(this.workDir, 'images'),
      capacityBytes: options.imageCacheBytes ?? DEFAULT_IMAGE_CACHE_BYTES,
      allowedHostPaths: options.allowedHostPaths ?? [],
      workDir: this.workDir,
      usedOnDisk: () => this.runtime.imagesOfOverlays(),
    });
  }

  /**
   * Lets the isolators rebuild their state for the re-attached containers and drop their own
   * leftovers, removes every cgroup under this agent's root that nobody re-attached to, then
   * keeps the uid claims of live containers only.
   */
  async removeOrphans(): Promise<string[]> {
    await this.removals;
    await this.hooks.recover.promise([...this.containers.values()]);
    const orphans = (await this.options.driver.children(this.options.cgroupRoot)).filter(
      (id) => !this.containers.has(id) || this.closing,
    );
    for (const id of orphans) await this.destroy(`${this.options.cgroupRoot}/${id}`);
    // Only now, with the orphans dead, may their uid blocks go to new containers.
    await this.uids.recover(new Set(this.containers.keys()));
    for (const id of await this.runtime.exited()) if (!this.recovered.has(id)) await this.runtime.removeExitFile(id);
    for (const id of await this.runtime.overlays())
      if (!this.containers.has(id) || this.closing) await this.runtime.removeOverlay(id);
    return orphans;
  }

  /** Kills every container and removes this agent's cgroup root. */
  async close(): Promise<void> {
    this.closing = true;
    await this.removeOrphans();
    await this.options.driver.remove(this.options.cgroupRoot, this.controllers);
    await this.spawner.close();
  }

  /** Usage statistics of a running container, merged from its isolators. */
  async usage(containerId: string): Promise<ContainerUsage> {
    const container = this.containers.get(containerId);
    if (!container) throw new GalaxyError('GALAXY_E_TASK_UNKNOWN', `no running container ${containerId}`);
    const usage: ContainerUsage = {};
    await this.hooks.usage.promise(container, usage);
    return usage;
  }

  /**
   * Starts a container once one of the launch slots is free (see {@link Slots}). The slot is
   * freed once the container is set up (the helper's `set`): the task's fork and exec and the
   * helper's report (about 45 ms of a slot's 120 with 1,000 batch tasks, on a loaded machine) do
   * not contend for the kernel's cgroup and mount locks, so the next setup need not wait for them.
   */
  launch(spec: LaunchSpec): Promise<LaunchedProcess> {
    return this.launchSlots.run((release) => this.launchNow(spec, release));
  }

  private async launchNow(spec: LaunchSpec, setUp: () => void): Promise<LaunchedProcess> {
    const { driver, log } = this.options;
    const task = spec.env.GALAXY_TASK_ID ?? spec.containerId;
    traceLaunch(task, 'launch slot taken');
    const capabilities = parseCapabilities(
      spec.container?.capabilities ?? [],
      'container.capabilities',
      'GALAXY_E_TASK_INVALID',
    );
    const layout = await this.runtime.hostLayout();
    // Before anything is made: a refused image changes nothing.
    const image = spec.container?.rootfs ? await this.images.acquire(spec.container.rootfs) : undefined;
    const container = this.container(spec.containerId, spec.sandbox, spec);
    if (image) container.state.set(IMAGE_STATE, image.sha256);
    let leader: { pid: number; exited: Promise<ExitInfo | undefined> };
    try {
      await driver.create(container.cgroup, this.controllers);
      traceLaunch(task, 'cgroups made');
      await this.hooks.prepare.promise(container);
      traceLaunch(task, 'isolators prepared');
      const identity = await identityOf(container.id, spec.command.user, this.uids);
      const owner = ownerOf(identity);
      const overlay = image ? await this.runtime.makeOverlay(container.id, image.sha256, owner) : undefined;
      // The container's root owns its sandbox (after `prepare`: a disk image is the sandbox by now).
      if (owner) await chown(spec.sandbox, owner.uid, owner.gid);
      const mounts = await checkMounts(container.mounts, this.options.allowedHostPaths ?? [], this.workDir);
      await makeMountPoints(spec.sandbox, mounts, owner);
      for (const mount of mounts) if (mount.agentVolume && mount.source) await giveVolume(mount.source, identity);
      const env: Record<string, string> = { ...spec.env, ...container.env };
      if (identity.kind === 'userns') env.GALAXY_SERVICE_USER = SERVICE_USER;
      traceLaunch(task, 'spawn requested');
      leader = await startHelper(this.spawner, {
        argv: [
          ...container.wrappers.flat(),
          this.helper,
          ...this.helperArgs(
            container,
            spec,
            layout,
            mounts,
            identity,
            capabilities,
            image && overlay ? { lower: image.rootfs, ...overlay } : undefined,
          ),
        ],
        cwd: spec.sandbox,
        env,
        // No output files: the container's init makes and rotates them (--log-dir).
        onSetUp: () => {
          traceLaunch(task, 'launch slot freed');
          setUp();
        },
      });
    } catch (error) {
      await this.destroy(container.cgroup, container);
      throw error;
    }
    traceLaunch(task, 'helper reported ok');
    this.containers.set(container.id, container);
    try {
      await this.hooks.isolate.promise(container, leader.pid);
    } catch (error) {
      log.warn({ container: container.id, err: String(error) }, 'isolate failed; destroying the container');
      await this.destroy(container.cgroup, container);
      throw error;
    }
    const exited = leader.exited.then((exit) => {
      traceLaunch(task, 'helper exited');
      return exit ?? this.watchCgroup(container);
    });
    traceLaunch(task, 'isolated');
    const launched = this.attach(container, leader.pid, exited);
    void launched.exited.then(() => {
      traceLaunch(task, 'stopped');
    });
    return launched;
  }

  async recover(spec: RecoverSpec): Promise<LaunchedProcess> {
    this.recovered.add(spec.containerId);
    const container = this.container(spec.containerId, spec.sandbox, spec);
    const alive = (await this.options.driver.pids('freezer', container.cgroup)).length > 0;
    if (alive) this.containers.set(container.id, container);
    return this.attach(container, spec.pid, this.watchCgroup(container));
  }

  /**
   * The end of a container whose helper is not our spawner's child (any more): an empty cgroup,
   * the task's status in its exit file.
   */
  private async watchCgroup(container: Container): Promise<ExitInfo> {
    while ((await this.options.driver.pids('freezer', container.cgroup)).length > 0) await sleep(RECOVERED_POLL_MS);
    return this.runtime.readExitFile(container.id);
  }

  private container(
    id: string,
    sandbox: string,
    spec: { resources: Container['resources']; limits: Container['limits']; volumes?: Container['volumes'] },
  ): Container {
    return {
      id,
      cgroup: `${this.options.cgroupRoot}/${id}`,
      sandbox,
      resources: spec.resources,
      limits: spec.limits,
      volumes: spec.volumes ?? [],
      driver: this.options.driver,
      state: new Map(),
      wrappers: [],
      env: {},
      mounts: [],
    };
  }

  private helperArgs(
    container: Container,
    spec: LaunchSpec,
    layout: HostLayout,
    mounts: readonly ContainerMount[],
    identity: Identity,
    capabilities: readonly string[],
    image: { lower: string; upper: string; work: string } | undefined,
  ): string[] {
    const args: string[] = [];
    for (const file of this.options.driver.procsFiles(container.cgroup, this.controllers)) args.push('--join', file);
    if (container.netns !== undefined) args.push('--netns', container.netns);
    else if (this.options.netNamespace) args.push('--new-net');
    const steps = planRoot({
      layout,
      sandbox: spec.sandbox,
      sandboxSource: realpathSync(spec.sandbox),
      tmpBytes: spec.resources.mem > 0 ? spec.resources.mem : DEFAULT_TMP_BYTES,
      mounts,
      owner: ownerOf(identity),
      image: image !== undefined,
    });
    args.push('--root', this.runtime.rootMount());
    if (image) args.push('--image', image.lower, image.upper, image.work);
    args.push(...stepArgs(steps), '--chdir', spec.sandbox);
    args.push(...identityArgs(identity));
    args.push('--caps', capabilityMask(capabilities));
    args.push(
      '--exit-file',
      this.runtime.exitFile(container.id),
      '--report-fd',
      String(REPORT_FD),
      '--env-fd',
      String(ENV_FD),
    );
    // The container's init writes the output to the sandbox (its path in the container is its
    // host path), rotated, as the task's own user.
    const rotation = this.options.logRotation ?? DEFAULT_LOG_ROTATION;
    args.push('--log-dir', spec.sandbox, String(rotation.maxBytes), String(rotation.maxFiles));
    args.push('--', ...commandLine(spec.command));
    return args;
  }

  /** Watches a running container for breached limits, and destroys it once it ends. */
  private attach(container: Container, leaderPid: number, leaderExited: Promise<ExitInfo>): LaunchedProcess {
    const { driver, log } = this.options;
    let limitation: Limitation | undefined;
    // Only limits the kernel does not enforce itself need watching while the container runs.
    const watcher = this.isolators.some((i) => i.polls)
      ? setInterval(() => {
          void this.limitation(container).then(async (found) => {
            if (!found || limitation) return;
            limitation = found;
            log.warn({ container: container.id, reason: found.reason }, found.message);
            await this.killAll(container.cgroup, 'SIGKILL');
          });
        }, WATCH_INTERVAL_MS)
      : undefined;
    const exited = leaderExited.then(async (exit): Promise<ExitInfo> => {
      clearInterval(watcher);
      limitation ??= await this.limitation(container);
      this.removeLater(container.cgroup, await this.stop(container.cgroup, container));
      return limitation ? { ...exit, limitation } : exit;
    });
    return {
      pid: leaderPid,
      exited,
      kill: async (graceMs) => {
        const timer = setTimeout(() => {
          void this.killAll(container.cgroup, 'SIGKILL');
        }, graceMs);
        // The helper passes SIGTERM to the container's init, which passes it to everything in
        // the namespace. Both keep it blocked and queued from their first instruction, so it
        // cannot be lost. After a restart the checkpointed pid is signalled only while it is
        // still in the container's cgroup (never a recycled pid).
        if ((await driver.pids('freezer', container.cgroup)).includes(leaderPid)) signal(leaderPid, 'SIGTERM');
        const info = await exited;
        clearTimeout(timer);
        return info;
      },
    };
  }

  private limitation(container: Container): Promise<Limitation | undefined> {
    return this.hooks.limitation.promise(container);
  }

  /** Freeze, kill, thaw: nothing can fork away between the listing and the kill. */
  private async killAll(cgroup: string, sig: NodeJS.Signals): Promise<void> {
    const { driver } = this.options;
    await driver.freeze(cgroup, true).catch(() => undefined);
    for (const pid of await driver.pids('freezer', cgroup)) signal(pid, sig);
    await driver.freeze(cgroup, false).catch(() => undefined);
  }

  /**
   * Idempotent: kills what is left, runs the isolators' cleanup, releases the uid block (only now
   * that nothing of the container runs), then removes what stays on disk: the exit file, the
   * overlay's layers and the cgroups ({@link removeRemains}).
   */
  private async destroy(cgroup: string, container?: Container): Promise<void> {
    const overlay = await this.stop(cgroup, container);
    await this.removeRemains(cgroup, overlay);
  }

  /**
   * The part of {@link destroy} a task's end waits for: nothing of the container runs, its
   * isolators are cleaned up, its uid block is free and its overlay's layers are gone. Returns
   * whether an orphan's overlay layers (it may have some) are left to remove.
   */
  private async stop(cgroup: string, container?: Container): Promise<boolean> {
    const { driver } = this.options;
    for (let i = 0; i < 100 && (await driver.pids('freezer', cgroup)).length > 0; i++) {
      await this.killAll(cgroup, 'SIGKILL');
      await sleep(10);
    }
    const id = cgroup.slice(cgroup.lastIndexOf('/') + 1);
    if (container) {
      await this.hooks.cleanup.promise(container).catch((error: unknown) => {
        this.options.log.warn({ container: container.id, err: String(error) }, 'an isolator cleanup failed');
      });
      this.containers.delete(container.id);
      const image = container.state.get(IMAGE_STATE);
      if (typeof image === 'string') {
        this.images.release(image);
        // Before the end is reported: a finished container's layers do not outlive it.
        await this.runtime.removeOverlay(id);
      }
      container.state.delete(IMAGE_STATE);
    }
    await this.uids.release(id);
    return container === undefined;
  }

  /** Removes a stopped container's exit file, an orphan's overlay layers and the cgroups. */
  private async removeRemains(cgroup: string, overlay: boolean): Promise<void> {
    const id = cgroup.slice(cgroup.lastIndexOf('/') + 1);
    await this.runtime.removeExitFile(id);
    // The overlay was mounted in the container's mount namespace only, gone with its processes.
    if (overlay) await this.runtime.removeOverlay(id);
    await this.options.driver.remove(cgroup, this.controllers);
  }

  /**
   * Removes a finished container's remains after its end is reported, one container at a time:
   * removing a cgroup takes the kernel's cgroup lock, which launches need too, and nothing in it
   * concerns the task's status. An agent that dies first leaves an empty cgroup, which the next
   * one's orphan sweep removes.
   */
  private removeLater(cgroup: string, overlay: boolean): void {
    this.removals = this.removals
      .then(() => this.removeRemains(cgroup, overlay))
      .catch((error: unknown) => {
        this.options.log.warn({ cgroup, err: String(error) }, "could not remove a finished container's remains");
      });
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
