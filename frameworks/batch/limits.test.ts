/**
 * The batch framework's bounds: one user's unfinished completions are capped at submit (a refusal
 * changes nothing), and finished jobs are forgotten after their retention or beyond the most kept.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../core/auth/principal.js';
import { createLogger } from '../../core/logger.js';
import { BatchJobSpec, BatchJobState } from '../../proto/gen/galaxy/v1/batch.js';
import { JobRecord } from './job.js';
import { checkCompletions, DEFAULT_BATCH_LIMITS } from './limits.js';
import { finishedToForget } from '../sdk/finished-jobs.js';
import { BatchScheduler } from './scheduler.js';

const bob: Principal = { user: 'bob', admin: false, kind: 'user' };
const alice: Principal = { user: 'alice', admin: false, kind: 'user' };
const spec = (name: string, completions: number) =>
  BatchJobSpec.fromPartial({ name, command: 'true', completions, parallelism: 1 });

describe('completions per user', () => {
  it('refuses a submit that takes a user past the limit, naming it', () => {
    expect(() => {
      checkCompletions('bob', 6, 4, 10);
    }).not.toThrow();
    expect(() => {
      checkCompletions('bob', 6, 5, 10);
    }).toThrow(/GALAXY_E_LIMIT_EXCEEDED: user bob asks for 5 completions with 6 still to run .*completionsPerUser/);
  });

  it('counts only the user’s unfinished jobs, and a refusal changes nothing', async () => {
    const batch = new BatchScheduler(createLogger('batch', 'silent'), {
      limits: { ...DEFAULT_BATCH_LIMITS, completionsPerUser: 10 },
    });
    await batch.submit(spec('first', 8), bob);
    await expect(batch.submit(spec('second', 5), bob)).rejects.toThrow(/GALAXY_E_LIMIT_EXCEEDED: user bob asks for 5/);
    expect((await batch.list(bob)).map((j) => j.spec?.name)).toEqual(['first']);
    await batch.submit(spec('hers', 10), alice);
    await batch.cancel('first', bob);
    expect((await batch.submit(spec('second', 5), bob)).spec?.name).toBe('second');
  });
});

describe('finished jobs', () => {
  it('are forgotten after the retention, and beyond the most kept, oldest first', () => {
    const limits = { ...DEFAULT_BATCH_LIMITS, finishedRetentionMs: 1000, maxFinishedJobs: 2 };
    const finished = [
      { name: 'a', finishedAt: 100 },
      { name: 'b', finishedAt: 900 },
      { name: 'c', finishedAt: 950 },
    ];
    expect(finishedToForget(finished, 1000, limits)).toEqual(['a']);
    expect(finishedToForget(finished, 1950, limits).sort()).toEqual(['a', 'b', 'c']);
    expect(finishedToForget([], 0, limits)).toEqual([]);
  });

  it('let go of what they kept per completion, still reporting what had not run', () => {
    const job = new JobRecord(spec('big', 1_000_000), 0, 'bob');
    job.launch((index, attempt) => `t-${index}-${attempt}`, 'agent-1');
    job.finish(BatchJobState.BATCH_CANCELLED, 'cancelled', 1);
    expect(job.toProto()).toMatchObject({ state: BatchJobState.BATCH_CANCELLED, pending: 999_999, running: 1 });
    expect(job.launchable(2)).toBe(0);
  });
});
