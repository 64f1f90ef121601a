/**
 * The launcher seam: how a task's first process is started and stopped. Today it is a plain
 * child process; the containerizer (cgroups + namespaces) implements the same interface.
 */
import type { CommandInfo, ContainerInfo, Limits, Resources, Volume } from '../proto/gen/galaxy/v1/common.js';
import type { ContainerUsage } from '../isolators/isolator.js';

/** What to start. */
export interface LaunchSpec {
  /** Unique on the agent: names the container's cgroups. */
  readonly containerId: string;
  readonly command: CommandInfo;
  readonly resources: Resources;
  readonly limits: Limits;
  /** Volumes to mount into the sandbox (by the `volumes` isolator). */
  readonly volumes?: readonly Volume[];
  /** Capabilities beyond the default set (authorized by the master); launchers without containers ignore it. */
  readonly container?: ContainerInfo;
  readonly sandbox: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdoutPath: string;
  readonly stderrPath: string;
}

/** A checkpointed container to re-attach to. */
export interface RecoverSpec {
  readonly containerId: string;
  readonly sandbox: string;
  readonly resources: Resources;
  readonly limits: Limits;
  /** Volumes to mount into the sandbox (by the `volumes` isolator). */
  readonly volumes?: readonly Volume[];
  /** The container's leader on the host, as checkpointed. */
  readonly pid: number;
}

/** How a process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** A limit the container hit (the reason the task ends), e.g. `memory-limit`. */
  readonly limitation?: { readonly reason: string; readonly message: string };
}

/** A started process. */
export interface LaunchedProcess {
  readonly pid: number;
  /** Resolves once the process (group leader) has exited. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM to the whole process group, then SIGKILL after `graceMs`; resolves on exit. */
  kill(graceMs: number): Promise<ExitInfo>;
}

/** Starts processes. Rejects with `GALAXY_E_LAUNCH_FAILED` when the process cannot start. */
export interface Launcher {
  readonly name: string;
  launch(spec: LaunchSpec): Promise<LaunchedProcess>;
  /**
   * Re-attaches to a container started before the agent restarted. The returned process's
   * `exited` resolves at once when it ended meanwhile. Launchers that cannot recover omit this.
   */
  recover?(spec: RecoverSpec): Promise<LaunchedProcess>;
  /** Usage statistics of a running container, when the launcher measures them. */
  usage?(containerId: string): Promise<ContainerUsage>;
  /** Removes containers nobody re-attached to (called after recovery); returns their ids. */
  removeOrphans?(): Promise<string[]>;
  /** Called once when the agent stops, after its tasks are gone. */
  close?(): Promise<void>;
}
