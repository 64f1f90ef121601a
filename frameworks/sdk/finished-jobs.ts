/**
 * Finished jobs a framework keeps for its listings (`galaxy batch list`, `galaxy mr list`) for a
 * while, then forgets, so that a framework's memory never grows with every job it ever ran.
 */

/** A finished job as the collector sees it. */
export interface FinishedJob {
  readonly name: string;
  /** When it finished (ms). */
  readonly finishedAt: number;
}

/** How long, and how many, finished jobs are kept. */
export interface FinishedRetention {
  /** A finished job is forgotten this long after it ended… */
  readonly finishedRetentionMs: number;
  /** …and only this many finished jobs are kept, the most recently finished. */
  readonly maxFinishedJobs: number;
}

/** Finished jobs kept an hour, a thousand at most. */
export const DEFAULT_FINISHED_RETENTION: FinishedRetention = { finishedRetentionMs: 3600_000, maxFinishedJobs: 1000 };

/** The names of the finished jobs to forget now: past the retention, then the oldest beyond the bound. */
export function finishedToForget(
  finished: readonly FinishedJob[],
  now: number,
  retention: FinishedRetention = DEFAULT_FINISHED_RETENTION,
): string[] {
  const byAge = [...finished].sort((a, b) => a.finishedAt - b.finishedAt);
  const excess = Math.max(0, byAge.length - retention.maxFinishedJobs);
  return byAge
    .filter((job, i) => i < excess || now - job.finishedAt >= retention.finishedRetentionMs)
    .map((job) => job.name);
}
