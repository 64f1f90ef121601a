/**
 * The batch framework's bounds (docs/security.md, "Nothing grows without bound"). A job costs
 * memory in proportion to its completions until it ends, so the completions of one user's
 * unfinished jobs are capped at submit; a finished job is kept for `galaxy batch list` for a
 * while, then forgotten, and at most so many finished jobs are kept.
 */
import { GalaxyError } from '../../core/errors.js';
import { DEFAULT_FINISHED_RETENTION, type FinishedRetention } from '../sdk/finished-jobs.js';

/** The batch framework's limits. */
export interface BatchLimits extends FinishedRetention {
  /** Completions of one user's unfinished jobs, together. */
  readonly completionsPerUser: number;
}

/** The defaults: one job of the largest size per user; finished jobs kept an hour, a thousand at most. */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { completionsPerUser: 1_000_000, ...DEFAULT_FINISHED_RETENTION };

/** Throws GALAXY_E_LIMIT_EXCEEDED when `requested` more completions would take `user` past `limit`. */
export function checkCompletions(user: string, unfinished: number, requested: number, limit: number): void {
  if (unfinished + requested <= limit) return;
  throw new GalaxyError(
    'GALAXY_E_LIMIT_EXCEEDED',
    `user ${user} asks for ${requested} completions with ${unfinished} still to run in unfinished jobs; ` +
      `one user may have at most ${limit} (limit completionsPerUser): wait for jobs to finish, or cancel some`,
  );
}
