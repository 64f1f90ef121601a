/**
 * Starts the native helper (`native/galaxy-init.c`) for one container, through the agent's
 * spawner (./spawner.ts), and waits for its report:
 * `ok <pid>` once the task has exec'd inside its sandbox, or `error <why>` when anything before
 * that failed (a mount, the user namespace, a missing program). Before either it may say `set`:
 * the container is set up and only the task's fork and exec remain ({@link HelperLaunch.onSetUp}). The helper stays the container's
 * monitor on the host; its exit is the task's.
 */
import { GalaxyError } from '../../core/errors.js';
import type { ExitInfo } from '../launcher.js';
import { LAUNCH_TRACE_FILE } from '../launch-trace.js';
import type { HelperSpawner } from './spawner.js';

/** What to start. */
export interface HelperLaunch {
  /** The full argv: wrappers, the helper, its options (`--report-fd 3 --env-fd 4`), `--`, the task's command. */
  readonly argv: readonly string[];
  /** The host directory it starts in (the sandbox). */
  readonly cwd: string;
  /** The task's environment (its exec's, never the helper's own). */
  readonly env: Readonly<Record<string, string>>;
  /** The task's output files; absent when the container's init makes them (`--log-dir`). */
  readonly stdoutPath?: string;
  readonly stderrPath?: string;
  /** Owner of the output files (the container's root on the host), when not the agent's user. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** Called once the container is set up, before the task's exec (the launch still waits for `ok`). */
  readonly onSetUp?: () => void;
}

/** A started helper: its pid (the container's leader) and its end (undefined: no longer watched, see {@link startHelper}). */
export interface HelperProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo | undefined>;
}

/** The descriptor the helper reports on (`--report-fd`). */
export const REPORT_FD = 3;
/** The descriptor the helper reads the task's environment from (`--env-fd`). */
export const ENV_FD = 4;

/** Where the helper finds the programs it runs (none but wrappers; the task has its own PATH). */
const HELPER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The helper's own environment: fixed by the agent. It runs as root on the host, so the task's
 * environment (LD_PRELOAD, GLIBC_TUNABLES, …) must never be its own: that goes through
 * {@link ENV_FD} to the task's exec. The sandbox and task id stay visible to find a container's
 * processes on the host (they are the agent's, not the task's, to choose). With
 * `GALAXY_LAUNCH_TRACE` set in the agent's own environment the helper traces its steps (../launch-trace.ts).
 */
function helperEnvironment(task: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { PATH: HELPER_PATH };
  for (const name of ['GALAXY_SANDBOX', 'GALAXY_TASK_ID']) {
    const value = task[name];
    if (value !== undefined) env[name] = value;
  }
  // The agent's own setting, never the task's: a file the helper appends its steps to.
  if (LAUNCH_TRACE_FILE !== undefined) env.GALAXY_LAUNCH_TRACE = LAUNCH_TRACE_FILE;
  return env;
}

/**
 * Starts the helper through the agent's spawner (its own session, the task's output files) and
 * resolves once the task runs; rejects with `GALAXY_E_LAUNCH_FAILED` carrying the helper's reason
 * otherwise (the caller destroys what is left). `exited` resolves undefined when the spawner ended
 * before the helper: the helper then is watched through its cgroup.
 */
export async function startHelper(spawner: HelperSpawner, launch: HelperLaunch): Promise<HelperProcess> {
  const [file = ''] = launch.argv;
  const helper = await spawner.spawn({
    argv: launch.argv,
    cwd: launch.cwd,
    helperEnv: helperEnvironment(launch.env),
    taskEnv: launch.env,
    // Without output files the container's init makes them (--log-dir); the helper's own
    // stdout and stderr then go nowhere.
    stdoutPath: launch.stdoutPath ?? '/dev/null',
    stderrPath: launch.stderrPath ?? '/dev/null',
    ...(launch.owner && launch.stdoutPath !== undefined ? { owner: launch.owner } : {}),
    ...(launch.onSetUp ? { onSetUp: launch.onSetUp } : {}),
  });
  if (helper.report.startsWith('ok ')) return { pid: helper.pid, exited: helper.exited };
  const exit = await helper.exited;
  const why = helper.report.startsWith('error ')
    ? helper.report.slice('error '.length)
    : `the container helper ${file} ended before the task started (${exit?.signal ?? `exit code ${exit?.code ?? '?'}`})`;
  throw new GalaxyError('GALAXY_E_LAUNCH_FAILED', why);
}
