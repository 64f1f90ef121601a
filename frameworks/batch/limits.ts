/**
 * The batch framework's bounds (docs/security.md, "Nothing grows without bound"). A job costs
 * memory in proportion to its completions until it ends, so the completions of one user's
 * unfinished jobs are capped at submit; a finished job is kept for `galaxy batch list` for a
 * while, then forgotten, and at most so many finished jobs are kept.
 */
import { GalaxyError } from '../../core/errors.js';

/** The batch framework's limits. */
export interface BatchLimits {
  /** Completions of one user's unfinished jobs, together. */
  readonly completionsPerUser: number;
  /** A finished job is forgotten this long after it ended… */
  readonly finishedRetentionMs: number;
  /** …and only this many finished jobs are kept, the most recently finished. */
  readonly maxFinishedJobs: number;
}

/** The defaults: one job of the largest size per user; finished jobs kept an hour, a thousand at most. */
export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  completionsPerUser: 1_000_000,
  finishedRetentionMs: 3600_000,
  maxFinishedJobs: 1000,
};

/** Throws GALAXY_E_LIMIT_EXCEEDED when `requested` more completions would take `user` past `limit`. */
export function checkCompletions(user: string, unfinished: number, requested: number, limit: number): void {
  if (unfinished + requested <= limit) return;
  throw new GalaxyError(
    'GALAXY_E_LIMIT_EXCEEDED',
    `user ${user} asks for ${requested} completions with ${unfinished} still to run in unfinished jobs; ` +
      `one user may have at most ${limit} (limit completionsPerUser): wait for jobs to finish, or cancel some`,
  );
}

/** A finished job as the collector sees it. */
export interface FinishedJob {
  readonly name: string;
  /** When it finished (ms). */
  readonly finishedAt: number;
}

/** The names of the finished jobs to forget now: past the retention, then the oldest beyond the bound. */
export function finishedToForget(finished: readonly FinishedJob[], now: number, limits: BatchLimits): string[] {
  const byAge = [...finished].sort((a, b) => a.finishedAt - b.finishedAt);
  const excess = Math.max(0, byAge.length - limits.maxFinishedJobs);
  return byAge
    .filter((job, i) => i < excess || now - job.finishedAt >= limits.finishedRetentionMs)
    .map((job) => job.name);
}
