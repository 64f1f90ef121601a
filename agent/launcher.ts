/**
 * The launcher seam: how a task's first process is started and stopped. Today it is a plain
 * child process; the containerizer (cgroups + namespaces) implements the same interface.
 */
import type { CommandInfo, Limits, Resources } from '../proto/gen/galaxy/v1/common.js';
import type { ContainerUsage } from '../isolators/isolator.js';

/** What to start. */
export interface LaunchSpec {
  /** Unique on the agent: names the container's cgroups. */
  readonly containerId: string;
  readonly command: CommandInfo;
  readonly resources: Resources;
  readonly limits: Limits;
  readonly sandbox: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdoutPath: string;
  readonly stderrPath: string;
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
  /** Usage statistics of a running container, when the launcher measures them. */
  usage?(containerId: string): Promise<ContainerUsage>;
  /** Called once when the agent stops, after its tasks are gone. */
  close?(): Promise<void>;
}
