/**
 * Runs one shell command of a service (stop, reload, a health check, an exec) to completion,
 * bounded in time and in output. The command gets its own process group so a timeout kills
 * everything it started, not just the shell.
 */
import { spawn } from 'node:child_process';

/** At most this much of stdout and of stderr is kept (the rest is dropped). */
export const MAX_OUTPUT_BYTES = 1024 * 1024;

/** How a command ended. `exitCode` is -1 when it was killed on timeout or abort. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Killed on timeout or abort. */
  timedOut: boolean;
  /** Bytes printed beyond the cap and dropped, per stream. */
  dropped?: { stdout: number; stderr: number };
}

/**
 * The container user a pod's service, its commands and its execs run as, while the AppWorker
 * stays the container's root: it cannot read the worker's pod token (in the worker's environment,
 * mode-0400 `/proc/<pid>/environ`) nor signal or trace the worker (docs/security.md).
 */
export interface ServiceUser {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The service user the agent's container names in `GALAXY_SERVICE_USER` (`uid:gid`), or
 * undefined (plain processes: the service runs as the worker does).
 */
export function serviceUserFrom(env: NodeJS.ProcessEnv): ServiceUser | undefined {
  const match = /^(\d+):(\d+)$/.exec(env.GALAXY_SERVICE_USER ?? '');
  if (!match) return undefined;
  return { uid: Number(match[1]), gid: Number(match[2]) };
}

/** Where and how long a command runs. */
export interface CommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Runs as this user (the service's) rather than the worker's. */
  user?: ServiceUser;
  timeoutMs: number;
  /** Cap of each of stdout and stderr, in bytes (default {@link MAX_OUTPUT_BYTES}). */
  maxOutputBytes?: number;
  /** Kills the command early (as a timeout does). */
  signal?: AbortSignal;
}

/** Sends `signal` to the process group led by `pid`; a group that is already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has exited
  }
}

/** Runs `/bin/sh -c command`; never rejects (a spawn failure is exit code 127 with the reason). */
export function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  const cap = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options.user,
    });
    // Past the cap the pipe is still drained (so the command is not blocked), and what is dropped counted.
    const collect = (stream: NodeJS.ReadableStream): { text: () => string; dropped: () => number } => {
      const chunks: Buffer[] = [];
      let size = 0;
      let dropped = 0;
      stream.on('data', (chunk: Buffer) => {
        const part = chunk.subarray(0, Math.max(0, cap - size));
        dropped += chunk.length - part.length;
        if (part.length === 0) return;
        chunks.push(part);
        size += part.length;
      });
      return { text: () => Buffer.concat(chunks).toString('utf8'), dropped: () => dropped };
    };
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    const stdout = out.text;
    const stderr = err.text;
    const dropped = () => ({ stdout: out.dropped(), stderr: err.dropped() });
    let timedOut = false;
    const kill = (): void => {
      timedOut = true;
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(kill, options.timeoutMs);
    if (options.signal?.aborted) kill();
    options.signal?.addEventListener('abort', kill, { once: true });
    child.on('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      resolve({
        exitCode: 127,
        stdout: stdout(),
        stderr: `${stderr()}${error.message}`,
        timedOut: false,
        dropped: dropped(),
      });
    });
    child.on('exit', () => {
      // Anything the shell left behind in its group goes with it (and stops holding the pipes).
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      resolve({
        exitCode: timedOut ? -1 : (code ?? -1),
        stdout: stdout(),
        stderr: stderr(),
        timedOut,
        dropped: dropped(),
      });
    });
  });
}
