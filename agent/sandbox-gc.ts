/**
 * Garbage collection of finished tasks' sandboxes: kept for a while so their output can be read,
 * then moved into `<workDir>/gc` in one rename (so `sandboxes/` never shows a half-deleted one)
 * and deleted from there. What a previous run left in `gc/` is deleted at start.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../core/logger.js';

/** Schedules sandboxes for deletion. */
export class SandboxGc {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dir: string;

  /**
   * @param workDir the agent's work dir
   * @param delayMs how long a finished task's sandbox is kept (default one hour)
   */
  constructor(
    workDir: string,
    private readonly delayMs: number,
    private readonly log: Logger,
  ) {
    this.dir = join(workDir, 'gc');
  }

  /** Deletes what an earlier run left to collect. */
  async start(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  /** Collects `sandbox` after the delay. */
  schedule(sandbox: string): void {
    if (sandbox === '') return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.collect(sandbox);
    }, this.delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Moves the sandbox out of sight, then deletes it. */
  async collect(sandbox: string): Promise<void> {
    const target = join(this.dir, `${basename(sandbox)}-${Date.now().toString(36)}`);
    try {
      await rename(sandbox, target);
      await rm(target, { recursive: true, force: true });
    } catch (error) {
      this.log.warn({ sandbox, err: String(error) }, 'sandbox GC failed');
    }
  }

  /** Cancels pending collections (the sandboxes stay for the next run's sweep of their owner). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
