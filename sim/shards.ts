/**
 * Simulated agents in child processes (`galaxy sim agents --shard i/n`), so that a large cell's
 * agents use more than one core and the parent measures: each shard sends its stats and its
 * tasks' events over IPC (./run-agents.ts). Every shard is killed when the parent exits, even on
 * failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { galaxyCli } from '../core/paths.js';
import type { FleetStats } from './fleet.js';
import type { ParentMessage, ShardMessage, TaskEventTuple } from './run-agents.js';

/** The built CLI, also when this module runs from source (tests). */

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** How the shards run. */
export interface ShardOptions {
  readonly master: string;
  /**
   * Per shard (one process each), how its agents prove who they are: `--join-token-file <f>` (a
   * join token admits at most 10,000 agents) or `--credentials <f>`.
   */
  readonly identityArgs: readonly (readonly string[])[];
  /** Arguments choosing the machines: `--machines <csv> --agents N` or `--agents N --resources …`. */
  readonly machineArgs: readonly string[];
  readonly speedup: number;
  readonly agentsPerChannel?: number;
  /** Every task event of every shard. */
  readonly onTaskEvents?: (events: readonly TaskEventTuple[]) => void;
}

/** The agents of every shard. */
export class Shards {
  private readonly children: ChildProcess[] = [];
  private readonly stats: (FleetStats | undefined)[] = [];
  private readonly memoryKib: number[] = [];
  private readonly lines: string[] = [];

  constructor(private readonly options: ShardOptions) {}

  /** Starts one process per entry of `identityArgs`. */
  start(): void {
    const count = this.options.identityArgs.length;
    this.options.identityArgs.forEach((identityArgs, index) => {
      const child = spawn(
        process.execPath,
        [
          // Memory per agent is measured after a collection.
          '--expose-gc',
          galaxyCli(), // found when a shard starts, not at import (the CLI imports this module in pods too)
          'sim',
          'agents',
          '--master',
          this.options.master,
          ...identityArgs,
          ...this.options.machineArgs,
          '--shard',
          `${index}/${count}`,
          '--speedup',
          String(this.options.speedup),
          '--agents-per-channel',
          String(this.options.agentsPerChannel ?? 100),
          '--report-every',
          '1',
        ],
        { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, GALAXY_LOG_LEVEL: 'warn', NO_COLOR: '1' } },
      );
      live.add(child);
      child.once('exit', () => live.delete(child));
      for (const stream of [child.stdout, child.stderr]) {
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          this.lines.push(...chunk.split('\n').filter(Boolean));
          if (this.lines.length > 100) this.lines.splice(0, this.lines.length - 100);
        });
      }
      child.on('message', (message: ShardMessage) => {
        if (message.kind === 'stats') {
          this.stats[index] = message.stats;
          this.memoryKib[index] = message.memoryPerAgentKib;
        } else this.options.onTaskEvents?.(message.events);
      });
      this.children.push(child);
    });
  }

  /** Agents registered now, over every shard (as of their last report, once a second). */
  connected(): number {
    return this.stats.reduce((n, s) => n + (s?.connected ?? 0), 0);
  }

  /** Every shard's last stats. */
  all(): readonly (FleetStats | undefined)[] {
    return this.stats;
  }

  /** Memory per agent (KiB of heap and external memory), averaged over the shards. */
  memoryPerAgentKib(): number {
    const known = this.memoryKib.filter((n) => Number.isFinite(n));
    return known.length === 0 ? NaN : Math.round(known.reduce((a, b) => a + b, 0) / known.length);
  }

  /** RSS of the shards together, MiB. */
  rssMib(): number {
    return Math.round(this.stats.reduce((n, s) => n + (s?.rssMib ?? 0), 0));
  }

  /** A shard exited before it was told to stop: its last output, for the error. */
  failure(): string | undefined {
    const dead = this.children.find((c) => c.exitCode !== null || c.signalCode !== null);
    return dead
      ? `a sim agents shard exited (${dead.exitCode ?? dead.signalCode}):\n${this.lines.slice(-20).join('\n')}`
      : undefined;
  }

  /** Tells every shard to stop, then kills those still running after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              resolve();
              return;
            }
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            if (child.connected) child.send({ kind: 'stop' } satisfies ParentMessage);
            else child.kill('SIGTERM');
          }),
      ),
    );
  }
}
