/**
 * The Linux containerizer: each task's first process starts inside its own cgroups and in new
 * pid, mount, uts and ipc namespaces (and optionally net), with isolator plugins setting the
 * limits. It implements the same {@link Launcher} interface as plain processes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { CgroupDriver, Controller } from '../cgroups/driver.js';
import type { Container, ContainerUsage, Isolator, Limitation } from '../../isolators/isolator.js';
import type { ExitInfo, LaunchedProcess, Launcher, LaunchSpec, RecoverSpec } from '../launcher.js';
import { commandLine, resolveUser, spawnLeader } from '../process-launcher.js';
import { createContainerizerHooks, tapIsolators, type ContainerizerHooks } from './hooks.js';
import { INIT, JOIN } from './scripts.js';

/** How often running containers are checked for breached limits. */
const WATCH_INTERVAL_MS = 100;
/** How often a re-attached container is checked for its end. */
const RECOVERED_POLL_MS = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the namespace init writes the task's exit status. */
function exitFile(sandbox: string): string {
  return join(sandbox, '.galaxy-exit');
}

/** The exit status a container's init left behind (null when it never wrote one). */
async function readExitFile(sandbox: string): Promise<ExitInfo> {
  try {
    const code = Number((await readFile(exitFile(sandbox), 'utf8')).trim());
    return { code: Number.isInteger(code) ? code : null, signal: null };
  } catch {
    return { code: null, signal: null };
  }
}

/** Options of the Linux launcher. */
export interface LinuxLauncherOptions {
  readonly driver: CgroupDriver;
  /** This agent's cgroup root (relative to each hierarchy), e.g. `galaxy/agent-1`; never shared. */
  readonly cgroupRoot: string;
  readonly isolators: readonly Isolator[];
  /** Also a new network namespace (no network unless an isolator provides one). */
  readonly netNamespace?: boolean;
  readonly log: Logger;
}

/** Starts tasks as containers. */
export class LinuxLauncher implements Launcher {
  readonly name = 'linux';
  readonly hooks: ContainerizerHooks = createContainerizerHooks();
  private readonly controllers: Controller[];
  private readonly containers = new Map<string, Container>();
  private closing = false;

  constructor(private readonly options: LinuxLauncherOptions) {
    tapIsolators(this.hooks, options.isolators);
    // The freezer is always needed: destroy freezes before it kills so nothing forks away.
    const wanted = new Set<Controller>(['freezer', ...options.isolators.flatMap((i) => i.controllers)]);
    const missing = [...wanted].filter((c) => !options.driver.available(c));
    if (missing.length > 0)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `cgroup controllers not available on this machine: ${missing.join(', ')}`,
      );
    this.controllers = [...wanted];
  }

  /**
   * Lets the isolators rebuild their state for the re-attached containers and drop their own
   * leftovers, then removes every cgroup under this agent's root that nobody re-attached to.
   */
  async removeOrphans(): Promise<string[]> {
    const live = [...this.containers.values()];
    for (const isolator of this.options.isolators) {
      await isolator.recover?.(live).catch((error: unknown) => {
        this.options.log.warn({ isolator: isolator.name, err: String(error) }, 'isolator recovery failed');
      });
    }
    const orphans = (await this.options.driver.children(this.options.cgroupRoot)).filter(
      (id) => !this.containers.has(id) || this.closing,
    );
    for (const id of orphans) await this.destroy(`${this.options.cgroupRoot}/${id}`);
    return orphans;
  }

  /** Kills every container and removes this agent's cgroup root. */
  async close(): Promise<void> {
    this.closing = true;
    await this.removeOrphans();
    await this.options.driver.remove(this.options.cgroupRoot, this.controllers);
  }

  /** Usage statistics of a running container, merged from its isolators. */
  async usage(containerId: string): Promise<ContainerUsage> {
    const container = this.containers.get(containerId);
    if (!container) throw new GalaxyError('GALAXY_E_TASK_UNKNOWN', `no running container ${containerId}`);
    const parts = await Promise.all(this.options.isolators.map((i) => i.usage?.(container) ?? Promise.resolve({})));
    return Object.assign({}, ...parts) as ContainerUsage;
  }

  async launch(spec: LaunchSpec): Promise<LaunchedProcess> {
    const { driver, log } = this.options;
    const container = this.container(spec.containerId, spec.sandbox, spec);
    await driver.create(container.cgroup, this.controllers);
    let leader: LaunchedProcess;
    try {
      await this.hooks.prepare.promise(container);
      const env = { ...spec.env, ...container.env, GALAXY_EXIT_FILE: exitFile(spec.sandbox) };
      leader = await spawnLeader('/bin/sh', this.argv(container, spec), {
        ...spec,
        env,
        command: { ...spec.command, user: '' },
      });
    } catch (error) {
      await this.destroy(container.cgroup, container);
      throw error;
    }
    this.containers.set(container.id, container);
    try {
      await this.hooks.isolate.promise(container, leader.pid);
    } catch (error) {
      log.warn({ container: container.id, err: String(error) }, 'isolate failed; destroying the container');
      await this.destroy(container.cgroup, container);
      throw error;
    }
    return this.attach(container, leader.pid, leader.exited);
  }

  async recover(spec: RecoverSpec): Promise<LaunchedProcess> {
    const container = this.container(spec.containerId, spec.sandbox, spec);
    const alive = (await this.options.driver.pids('freezer', container.cgroup)).length > 0;
    if (alive) this.containers.set(container.id, container);
    // The leader is no longer our child: its end shows as an empty cgroup, its status in the exit file.
    const exited = (async (): Promise<ExitInfo> => {
      while ((await this.options.driver.pids('freezer', container.cgroup)).length > 0) await sleep(RECOVERED_POLL_MS);
      return readExitFile(spec.sandbox);
    })();
    return this.attach(container, spec.pid, exited);
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
    };
  }

  /** Watches a running container for breached limits, and destroys it once it ends. */
  private attach(container: Container, leaderPid: number, leaderExited: Promise<ExitInfo>): LaunchedProcess {
    const { driver, log } = this.options;
    let limitation: Limitation | undefined;
    // Only limits the kernel does not enforce itself need watching while the container runs.
    const watcher = this.options.isolators.some((i) => i.polls)
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
      await this.destroy(container.cgroup, container);
      return limitation ? { ...exit, limitation } : exit;
    });
    return {
      pid: leaderPid,
      exited,
      kill: async (graceMs) => {
        const timer = setTimeout(() => {
          void this.killAll(container.cgroup, 'SIGKILL');
        }, graceMs);
        // SIGTERM goes to the namespace's init, which passes it on, once its trap is set (a
        // namespace init drops signals it has no handler for) — and never to the `unshare`
        // parent, whose death would SIGKILL the container at once.
        await initReady(leaderPid, Math.min(graceMs, INIT_READY_WAIT_MS));
        for (const pid of await driver.pids('freezer', container.cgroup)) if (pid !== leaderPid) signal(pid, 'SIGTERM');
        const info = await exited;
        clearTimeout(timer);
        return info;
      },
    };
  }

  private argv(container: Container, spec: LaunchSpec): string[] {
    const procs = this.options.driver.procsFiles(container.cgroup, this.controllers);
    const namespaces = ['--pid', '--fork', '--kill-child', '--mount-proc', '--uts', '--ipc'];
    if (this.options.netNamespace) namespaces.push('--net');
    const command = commandLine(spec.command);
    if (spec.command.user !== '') {
      const { uid, gid } = resolveUser(spec.command.user);
      command.unshift('setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups');
    }
    return [
      '-c',
      JOIN,
      'join',
      String(procs.length),
      ...procs,
      ...container.wrappers.flat(),
      'unshare',
      ...namespaces,
      '--',
      '/bin/sh',
      '-c',
      INIT,
      'init',
      ...command,
    ];
  }

  private async limitation(container: Container): Promise<Limitation | undefined> {
    for (const isolator of this.options.isolators) {
      const found = await isolator.limitation?.(container).catch(() => undefined);
      if (found) return found;
    }
    return undefined;
  }

  /** Freeze, kill, thaw: nothing can fork away between the listing and the kill. */
  private async killAll(cgroup: string, sig: NodeJS.Signals): Promise<void> {
    const { driver } = this.options;
    await driver.freeze(cgroup, true).catch(() => undefined);
    for (const pid of await driver.pids('freezer', cgroup)) signal(pid, sig);
    await driver.freeze(cgroup, false).catch(() => undefined);
  }

  /** Idempotent: kills what is left, runs the isolators' cleanup and removes the cgroups. */
  private async destroy(cgroup: string, container?: Container): Promise<void> {
    const { driver } = this.options;
    for (let i = 0; i < 100 && (await driver.pids('freezer', cgroup)).length > 0; i++) {
      await this.killAll(cgroup, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 10));
    }
    if (container) {
      await this.hooks.cleanup.promise(container).catch((error: unknown) => {
        this.options.log.warn({ container: container.id, err: String(error) }, 'an isolator cleanup failed');
      });
      this.containers.delete(container.id);
    }
    await driver.remove(cgroup, this.controllers);
  }
}

/** Longest wait for the namespace's init to be ready before a kill signals anyway (ms). */
const INIT_READY_WAIT_MS = 3000;

/** True when `pid` has a handler for SIGTERM (bit 15 of SigCgt in /proc/<pid>/status). */
function catchesTerm(pid: number): boolean {
  try {
    const mask = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
    return (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}

/**
 * Waits (at most `timeoutMs`, or until the container is gone) until the init started by `unshare`
 * (pid `leader`) traps SIGTERM and has started the task: a child of the init that has not exec'd
 * yet is a copy of the init with the init's trap, and a SIGTERM it catches then is lost at its
 * exec — the task would never see it and would run until SIGKILL.
 */
async function initReady(leader: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && existsSync(`/proc/${leader}`)) {
    const inits = readChildren(leader);
    if (inits.length > 0 && inits.every((init) => catchesTerm(init) && startedTask(init))) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** True once every child of `init` runs a program of its own (it has exec'd). */
function startedTask(init: number): boolean {
  const own = readCmdline(init);
  const children = readChildren(init);
  return (
    children.length > 0 &&
    children.every((child) => {
      const command = readCmdline(child);
      return command !== '' && command !== own;
    })
  );
}

/** A process's command line ('' once it is gone). */
function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

/** Child pids of a process. */
function readChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
