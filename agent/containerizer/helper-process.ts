/**
 * Starts the native helper (`native/galaxy-init.c`) for one container and waits for its report:
 * `ok <pid>` once the task has exec'd inside its sandbox, or `error <why>` when anything before
 * that failed (a mount, the user namespace, a missing program). The helper stays the container's
 * monitor on the host; its exit is the task's.
 */
import { spawn } from 'node:child_process';
import { closeSync, fchownSync, openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { GalaxyError } from '../../core/errors.js';
import type { ExitInfo } from '../launcher.js';

/** What to start. */
export interface HelperLaunch {
  /** The full argv: wrappers, the helper, its options (`--report-fd 3 --env-fd 4`), `--`, the task's command. */
  readonly argv: readonly string[];
  /** The host directory it starts in (the sandbox). */
  readonly cwd: string;
  /** The task's environment (its exec's, never the helper's own). */
  readonly env: Readonly<Record<string, string>>;
  /** The task's output files; absent when the helper's log writer makes them (`--log-dir`). */
  readonly stdoutPath?: string;
  readonly stderrPath?: string;
  /** Owner of the output files (the container's root on the host), when not the agent's user. */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

/** A started helper: its pid (the container's leader) and its end. */
export interface HelperProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
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
 * processes on the host (they are the agent's, not the task's, to choose).
 */
function helperEnvironment(task: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { PATH: HELPER_PATH };
  for (const name of ['GALAXY_SANDBOX', 'GALAXY_TASK_ID']) {
    const value = task[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Reads the report line from the helper's report pipe. */
function readReport(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    const done = (): void => {
      resolve(text.split('\n')[0] ?? '');
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/**
 * Spawns the helper in its own session with the task's output files, and resolves once the task
 * runs; rejects with `GALAXY_E_LAUNCH_FAILED` carrying the helper's reason otherwise (the caller
 * destroys what is left).
 */
export async function startHelper(launch: HelperLaunch): Promise<HelperProcess> {
  const stdout = launch.stdoutPath !== undefined ? openSync(launch.stdoutPath, 'a', 0o644) : 'ignore';
  const stderr = launch.stderrPath !== undefined ? openSync(launch.stderrPath, 'a', 0o644) : 'ignore';
  try {
    if (launch.owner && typeof stdout === 'number' && typeof stderr === 'number') {
      // The task owns its output, as it owns its sandbox (the agent opened the files, not the task).
      fchownSync(stdout, launch.owner.uid, launch.owner.gid);
      fchownSync(stderr, launch.owner.uid, launch.owner.gid);
    }
    const [file = '', ...args] = launch.argv;
    const child = spawn(file, args, {
      cwd: launch.cwd,
      env: helperEnvironment(launch.env),
      stdio: ['ignore', stdout, stderr, 'pipe', 'pipe'],
      detached: true,
    });
    const envPipe = child.stdio[ENV_FD] as Writable | null;
    envPipe?.on('error', () => undefined); // a helper that failed early closed it: its report says why
    envPipe?.end(
      Object.entries(launch.env)
        .map(([name, value]) => `${name}=${value}\0`)
        .join(''),
    );
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve({ code, signal });
      });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => {
        reject(new GalaxyError('GALAXY_E_LAUNCH_FAILED', `cannot start ${file}: ${error.message}`));
      });
    });
    const pipe = child.stdio[REPORT_FD] as Readable | null;
    const report = pipe ? await readReport(pipe) : '';
    if (report.startsWith('ok ')) return { pid: child.pid ?? -1, exited };
    const exit = await exited;
    const why = report.startsWith('error ')
      ? report.slice('error '.length)
      : `the container helper ended before the task started (${exit.signal ?? `exit code ${exit.code ?? '?'}`})`;
    throw new GalaxyError('GALAXY_E_LAUNCH_FAILED', why);
  } finally {
    if (typeof stdout === 'number') closeSync(stdout);
    if (typeof stderr === 'number') closeSync(stderr);
  }
}
