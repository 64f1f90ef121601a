/**
 * The bounds of `galaxy job exec` (docs/security.md, "Exec output is bounded"): what one exec may
 * return, what one pull carries, and how many execs may wait. A pull answer or request never
 * comes near the message limit (`core/grpc-limits.ts`, 4 MiB), so one exec, however much it
 * prints, can never break a pod's pulls. The AppWorker bounds what it sends; the AppMaster bounds
 * again what a pod sends it (a pod is not trusted) and what it asks for.
 */
import { GalaxyError } from '../../core/errors.js';
import { ExecOutput, type ExecResult } from '../../proto/gen/galaxy/v1/appmaster.js';

/** Of each of an exec's stdout and stderr, at most this many bytes (UTF-8) are returned. */
export const MAX_EXEC_OUTPUT_BYTES = 256 * 1024;

/** Exec results one pull carries at most (always at least one); the rest go with the next pulls. */
export const PULL_EXEC_BUDGET_BYTES = 1024 * 1024;

/** The longest command an exec may run. */
export const MAX_EXEC_COMMAND_BYTES = 64 * 1024;

/** Execs waiting for one pod's AppWorker at once… */
export const MAX_PENDING_EXECS_PER_POD = 4;

/** …and for one user across all pods. */
export const MAX_PENDING_EXECS_PER_USER = 16;

/**
 * `text` cut to at most `max` bytes of UTF-8 (on a character boundary), with a note of what was
 * dropped; `dropped` counts bytes already dropped before `text` was made.
 */
export function boundOutput(text: string, dropped = 0, max = MAX_EXEC_OUTPUT_BYTES): string {
  const size = Buffer.byteLength(text, 'utf8');
  if (size <= max && dropped === 0) return text;
  const total = size + dropped;
  const note = `\n[galaxy: output truncated to ${max} bytes; ${total} bytes were printed]\n`;
  const room = Math.max(0, max - Buffer.byteLength(note, 'utf8'));
  let kept = Buffer.from(text, 'utf8').subarray(0, room).toString('utf8');
  // A character cut in half decodes as U+FFFD (3 bytes): drop characters until it fits.
  while (Buffer.byteLength(kept, 'utf8') > room) kept = kept.slice(0, -1);
  return `${kept}${note}`;
}

/** An exec result with both streams bounded. */
export function boundResult(result: ExecResult): ExecResult {
  return { ...result, stdout: boundOutput(result.stdout), stderr: boundOutput(result.stderr) };
}

/** The oldest results whose encoded size fits `budget` (always the first one, which is bounded itself). */
export function withinBudget(results: readonly ExecOutput[], budget = PULL_EXEC_BUDGET_BYTES): ExecOutput[] {
  const taken: ExecOutput[] = [];
  let used = 0;
  for (const result of results) {
    const size = ExecOutput.encode(result).finish().byteLength;
    if (taken.length > 0 && used + size > budget) break;
    taken.push(result);
    used += size;
  }
  return taken;
}

/** Refuses a command longer than {@link MAX_EXEC_COMMAND_BYTES}. */
export function checkExecCommand(command: string): void {
  const size = Buffer.byteLength(command, 'utf8');
  if (size > MAX_EXEC_COMMAND_BYTES)
    throw new GalaxyError(
      'GALAXY_E_TOO_LARGE',
      `the exec command is ${size} bytes; the limit is ${MAX_EXEC_COMMAND_BYTES}: put a longer script in the package`,
    );
}

/** Counts the execs waiting per user, under {@link MAX_PENDING_EXECS_PER_USER}. */
export class PendingExecs {
  private readonly byUser = new Map<string, number>();

  constructor(
    private readonly perPod = MAX_PENDING_EXECS_PER_POD,
    private readonly perUser = MAX_PENDING_EXECS_PER_USER,
  ) {}

  /**
   * Admits an exec of `user` on pod `pod`, which has `podPending` execs waiting; returns the
   * release to call (once or more) when it is answered or given up. Throws
   * GALAXY_E_LIMIT_EXCEEDED at either limit, counting nothing.
   */
  admit(user: string, pod: string, podPending: number): () => void {
    if (podPending >= this.perPod)
      throw new GalaxyError(
        'GALAXY_E_LIMIT_EXCEEDED',
        `pod ${pod} already has ${podPending} execs waiting, the most one pod may have (${this.perPod}); wait for them to finish`,
      );
    const mine = this.byUser.get(user) ?? 0;
    if (mine >= this.perUser)
      throw new GalaxyError(
        'GALAXY_E_LIMIT_EXCEEDED',
        `user ${user} already has ${mine} execs waiting, the most one user may have (${this.perUser}); wait for them to finish`,
      );
    this.byUser.set(user, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.byUser.get(user) ?? 1) - 1;
      if (left > 0) this.byUser.set(user, left);
      else this.byUser.delete(user);
    };
  }

  /** Execs `user` has waiting. */
  of(user: string): number {
    return this.byUser.get(user) ?? 0;
  }
}
