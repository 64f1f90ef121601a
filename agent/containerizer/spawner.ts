/**
 * The agent's side of `galaxy-init --spawner` (native/spawner.c): one small process the agent
 * starts once, which forks each container's helper on request (running it in the fork when it is
 * the spawner's own binary, execing it otherwise). The agent never forks
 * itself per container: a fork of a Node process of a hundred MiB copies its page tables and
 * blocks the event loop until the child has exec'd (tens of milliseconds each on a loaded
 * machine, measured as a third of the agent's time in a burst of batch tasks).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { GalaxyError } from '../../core/errors.js';
import type { ExitInfo } from '../launcher.js';

/** One helper to start. */
export interface SpawnRequest {
  /** The helper's argv: wrappers, the helper, its options, `--`, the task's command. */
  readonly argv: readonly string[];
  /** The host directory it starts in (the sandbox). */
  readonly cwd: string;
  /** The helper's own environment (fixed by the agent). */
  readonly helperEnv: Readonly<Record<string, string>>;
  /** The task's environment, handed to the helper on `--env-fd 4`. */
  readonly taskEnv: Readonly<Record<string, string>>;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Owner of the output files, when not the agent's user. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** Called once the helper says its container is set up (`set`), before its report; not by every helper. */
  readonly onSetUp?: () => void;
}

/** A spawned helper: its pid, its first report line, and its end. */
export interface SpawnedHelper {
  readonly pid: number;
  /** "ok <pid>", "error <why>", or '' (it ended without a word). */
  readonly report: string;
  /**
   * Its exit status; `undefined` when the spawner ended first, so that the helper (still running,
   * adopted by init) can only be watched through its cgroup, as after an agent restart.
   */
  readonly exited: Promise<ExitInfo | undefined>;
}

interface Pending {
  pid?: number;
  report?: string;
  onSetUp?: () => void;
  settleSpawn: (helper: SpawnedHelper) => void;
  failSpawn: (error: Error) => void;
  settleExit: (exit: ExitInfo | undefined) => void;
  exited: Promise<ExitInfo | undefined>;
}

/** Signal names by number, for exit statuses as Node reports them. */
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/** A field of a request: a letter, the value, NUL. Values never hold NUL (argv and environments cannot). */
function field(letter: string, value: string): string {
  if (value.includes('\0'))
    throw new GalaxyError('GALAXY_E_TASK_INVALID', `a container's argument or environment holds a NUL byte`);
  return `${letter}${value}\0`;
}

/** Encodes one request (see native/spawner.c). */
export function encodeSpawnRequest(tag: string, request: SpawnRequest): string {
  const parts = [
    field('T', tag),
    field('D', request.cwd),
    field('O', request.stdoutPath),
    field('E', request.stderrPath),
  ];
  if (request.owner) parts.push(field('U', `${request.owner.uid}:${request.owner.gid}`));
  for (const [name, value] of Object.entries(request.helperEnv)) parts.push(field('H', `${name}=${value}`));
  for (const [name, value] of Object.entries(request.taskEnv)) parts.push(field('V', `${name}=${value}`));
  for (const arg of request.argv) parts.push(field('A', arg));
  return `${parts.join('')}\0`;
}

/** Starts helpers through one `galaxy-init --spawner`, started on first use and again after it ends. */
export class HelperSpawner {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextTag = 1;

  constructor(private readonly helper: string) {}

  /** Forks and execs one helper; resolves with its pid and report once both are known. */
  spawn(request: SpawnRequest): Promise<SpawnedHelper> {
    const child = this.running();
    const tag = String(this.nextTag++);
    const encoded = encodeSpawnRequest(tag, request);
    return new Promise<SpawnedHelper>((resolve, reject) => {
      let settleExit: (exit: ExitInfo | undefined) => void = () => undefined;
      const exited = new Promise<ExitInfo | undefined>((r) => (settleExit = r));
      this.pending.set(tag, {
        settleSpawn: resolve,
        failSpawn: reject,
        settleExit,
        exited,
        ...(request.onSetUp ? { onSetUp: request.onSetUp } : {}),
      });
      this.hold();
      child.stdin?.write(encoded);
    });
  }

  /** Ends the spawner (the helpers it started run on) and waits for it to go. */
  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    await gone;
  }

  private running(): ChildProcess {
    if (this.child) return this.child;
    // Its own session: a Ctrl-C to the agent's terminal must not reach it (it ends with its stdin).
    const child = spawn(this.helper, ['--spawner'], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      detached: true,
    });
    child.stdin.on('error', () => undefined); // it ended: the 'exit' below settles what was pending
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.line(line);
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
      this.orphanAll();
    });
    child.once('error', () => {
      if (this.child === child) this.child = undefined;
      this.orphanAll();
    });
    this.child = child;
    return child;
  }

  /**
   * Keeps the process alive while a helper it started runs (as a child process of its own would),
   * and not otherwise: an idle spawner never holds up the agent's end.
   */
  private hold(): void {
    const child = this.child;
    if (!child) return;
    const held = this.pending.size > 0;
    for (const handle of [child, child.stdin, child.stdout] as const) {
      const ref = handle as { ref?: () => void; unref?: () => void } | null;
      if (held) ref?.ref?.();
      else ref?.unref?.();
    }
  }

  /** One line of the spawner: `<tag> pid|set|report|exit …`. */
  private line(line: string): void {
    const first = line.indexOf(' ');
    const second = line.indexOf(' ', first + 1);
    const tag = line.slice(0, first);
    const kind = line.slice(first + 1, second < 0 ? undefined : second);
    const rest = second < 0 ? '' : line.slice(second + 1);
    const entry = this.pending.get(tag);
    if (!entry) return;
    if (kind === 'pid') entry.pid = Number(rest);
    else if (kind === 'set') {
      const onSetUp = entry.onSetUp;
      entry.onSetUp = undefined;
      onSetUp?.();
      return;
    } else if (kind === 'report') entry.report = rest;
    else if (kind === 'exit') {
      const [code = '', signal = '0'] = rest.split(' ');
      this.pending.delete(tag);
      this.hold();
      const signalName = SIGNAL_NAMES.get(Number(signal));
      entry.report ??= '';
      if (entry.pid === undefined) entry.pid = -1;
      this.announce(entry);
      entry.settleExit(
        Number(signal) > 0 ? { code: null, signal: signalName ?? 'SIGKILL' } : { code: Number(code), signal: null },
      );
      return;
    }
    this.announce(entry);
  }

  /** Resolves the spawn once its pid and report are both known. */
  private announce(entry: Pending): void {
    if (entry.pid === undefined || entry.report === undefined) return;
    entry.settleSpawn({ pid: entry.pid, report: entry.report, exited: entry.exited });
  }

  /** The spawner ended: spawns not yet reported fail; started helpers are watched by their cgroups. */
  private orphanAll(): void {
    for (const entry of this.pending.values()) {
      if (entry.pid === undefined || entry.report === undefined)
        entry.failSpawn(new GalaxyError('GALAXY_E_LAUNCH_FAILED', 'the container spawner ended during the launch'));
      entry.settleExit(undefined);
    }
    this.pending.clear();
  }
}
