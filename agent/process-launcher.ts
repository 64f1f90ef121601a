/**
 * The plain-process launcher: each task's first process is a child in its own process group,
 * so that a kill reaches everything it started.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { GalaxyError } from '../core/errors.js';
import type { ExitInfo, LaunchedProcess, Launcher, LaunchSpec } from './launcher.js';

/** Resolves a user name to uid and gid, or throws a coded error. */
export function resolveUser(user: string): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new GalaxyError('GALAXY_E_LAUNCH_FAILED', `user "${user.slice(0, 64)}" does not exist on this agent`);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Waits until `child` (started from `file`) runs; then `exited` resolves with how it ends. A child
 * that cannot start (no such file, no permission) rejects with `GALAXY_E_LAUNCH_FAILED`.
 */
export async function spawned(child: ChildProcess, file: string): Promise<{ exited: Promise<ExitInfo> }> {
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
  return { exited };
}

/** Starts tasks as plain child processes. */
export class ProcessLauncher implements Launcher {
  readonly name = 'process';

  async launch(spec: LaunchSpec): Promise<LaunchedProcess> {
    const [file, ...args] = commandLine(spec.command);
    return spawnLeader(file, args, spec);
  }
}

/** The argv of a command: `/bin/sh -c <shell>` or its own argv. */
export function commandLine(command: LaunchSpec['command']): [string, ...string[]] {
  const argv = command.shell.trim() !== '' ? ['/bin/sh', '-c', command.shell] : command.argv;
  const [file, ...args] = argv;
  if (file === undefined) throw new GalaxyError('GALAXY_E_LAUNCH_FAILED', 'the command is empty');
  return [file, ...args];
}

/**
 * Spawns `file args` as the leader of a new process group, in the sandbox, with the task's
 * environment, user and output files; resolves once it runs.
 */
export async function spawnLeader(file: string, args: readonly string[], spec: LaunchSpec): Promise<LaunchedProcess> {
  const identity = spec.command.user !== '' ? resolveUser(spec.command.user) : {};
  const stdout = openSync(spec.stdoutPath, 'a');
  const stderr = openSync(spec.stderrPath, 'a');
  try {
    const child = spawn(file, args, {
      cwd: spec.sandbox,
      env: spec.env,
      stdio: ['ignore', stdout, stderr],
      detached: true,
      ...identity,
    });
    const { exited } = await spawned(child, file);
    const pid = child.pid ?? -1;
    return {
      pid,
      exited,
      kill: async (graceMs) => {
        signalGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => {
          signalGroup(pid, 'SIGKILL');
        }, graceMs);
        const info = await exited;
        clearTimeout(timer);
        // Whatever the leader left behind in its group goes too.
        signalGroup(pid, 'SIGKILL');
        return info;
      },
    };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
}
