/**
 * The service's process inside the container: started with `/bin/sh -c` in its own process group,
 * restarted with exponential backoff when it crashes, and stopped politely (stop command, then
 * SIGTERM) and then firmly (SIGKILL at the stop timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { Backoff } from '../../../core/backoff.js';
import { runCommand, signalGroup, type ServiceUser } from './command.js';

/** Where the supervised process stands. `delayed`: crashed, waiting for its backoff to restart. */
export type ProcessPhase = 'stopped' | 'running' | 'stopping' | 'delayed';

/** What happened, for whoever reports or checks health. */
export type SupervisorEvent = 'started' | 'exited' | 'delayed' | 'stopping' | 'stopped';

/** How to run one revision of the service. */
export interface ServiceCommand {
  start: string;
  stop?: string;
  /** The release directory. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * stdout and stderr are appended to `service.stdout` / `service.stderr` here; without it the
   * service writes to the pod's own stdout and stderr, which the agent's container helper rotates
   * and `galaxy logs` reads (docs/cli.md).
   */
  logDir?: string;
  /** From the stop command's start to SIGKILL. */
  stopTimeoutMs: number;
  /** First restart delay; doubles up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** A run at least this long resets the backoff (default 10 s). */
  stableMs?: number;
  /** The service's own user (not the worker's), when the container names one. */
  user?: ServiceUser;
}

const DEFAULT_STABLE_MS = 10_000;

/** Keeps one service process running (or stopped) as asked. */
export class Supervisor {
  /** Where the process stands. */
  phase: ProcessPhase = 'stopped';
  /** Restarts after crashes since {@link configure}. */
  restarts = 0;
  /** Exit code of the last exit; 128 + n when killed by signal n. */
  lastExitCode = 0;
  /** While `delayed`: when the restart happens (ms since epoch); else 0. */
  delayedUntil = 0;
  private command: ServiceCommand;
  private backoff: Backoff;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private startedAt = 0;
  private wanted = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    command: ServiceCommand,
    private readonly onEvent: (event: SupervisorEvent) => void = () => undefined,
  ) {
    this.command = command;
    this.backoff = new Backoff(command.backoffMs, command.maxBackoffMs, 0);
  }

  /** Pid of the running process (its process group id too). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Switches to another revision's command; only while stopped. Resets the counters. */
  configure(command: ServiceCommand): void {
    if (this.phase !== 'stopped') throw new Error(`cannot reconfigure a ${this.phase} service`);
    this.command = command;
    this.backoff = new Backoff(command.backoffMs, command.maxBackoffMs, 0);
    this.restarts = 0;
    this.lastExitCode = 0;
  }

  /** Starts the process and keeps it running; nothing happens when it already runs or waits to restart. */
  start(): void {
    if (this.wanted) return;
    if (this.stopping) throw new Error('the service is still stopping');
    this.wanted = true;
    this.backoff.reset();
    this.spawn();
  }

  /** Stops the process (and any pending restart); resolves once its whole group is gone. */
  stop(): Promise<void> {
    if (this.phase === 'stopped' && !this.wanted) return Promise.resolve();
    this.stopping ??= this.shutdown().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private spawn(): void {
    const { logDir, start, cwd, env, user } = this.command;
    if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
    const out = logDir !== undefined ? openSync(join(logDir, 'service.stdout'), 'a') : 'inherit';
    const err = logDir !== undefined ? openSync(join(logDir, 'service.stderr'), 'a') : 'inherit';
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', start], { cwd, env, detached: true, stdio: ['ignore', out, err], ...user });
    } finally {
      if (typeof out === 'number') closeSync(out);
      if (typeof err === 'number') closeSync(err);
    }
    this.child = child;
    this.startedAt = Date.now();
    this.phase = 'running';
    this.exited = new Promise((resolve) => {
      let seen = false;
      const finish = (code: number): void => {
        if (seen) return;
        seen = true;
        this.onExit(child, code);
        resolve();
      };
      child.once('exit', (code, signal) => {
        finish(code ?? 128 + (signal ? constants.signals[signal] : 0));
      });
      child.once('error', () => {
        finish(127);
      });
    });
    this.onEvent('started');
  }

  private onExit(child: ChildProcess, code: number): void {
    // Whatever the shell started dies with it, so a restart finds its port free.
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    this.child = undefined;
    this.lastExitCode = code;
    if (!this.wanted) {
      this.onEvent('exited');
      return;
    }
    if (Date.now() - this.startedAt >= (this.command.stableMs ?? DEFAULT_STABLE_MS)) this.backoff.reset();
    const delay = this.backoff.next();
    this.phase = 'delayed';
    this.delayedUntil = Date.now() + delay;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.delayedUntil = 0;
      this.restarts += 1;
      this.spawn();
    }, delay);
    this.onEvent('delayed');
  }

  private async shutdown(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.delayedUntil = 0;
    const child = this.child;
    if (child?.pid !== undefined) {
      const pid = child.pid;
      this.phase = 'stopping';
      this.onEvent('stopping');
      const deadline = Date.now() + this.command.stopTimeoutMs;
      const { stop, cwd, env, user } = this.command;
      if (stop !== undefined) await runCommand(stop, { cwd, env, user, timeoutMs: this.command.stopTimeoutMs });
      if (this.child === child) {
        signalGroup(pid, 'SIGTERM');
        const kill = setTimeout(
          () => {
            signalGroup(pid, 'SIGKILL');
          },
          Math.max(0, deadline - Date.now()),
        );
        await this.exited;
        clearTimeout(kill);
      }
    }
    this.phase = 'stopped';
    this.onEvent('stopped');
  }
}
