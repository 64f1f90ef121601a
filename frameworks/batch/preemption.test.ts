/**
 * A preempted batch task is retried at once and uses up none of its retries.
 */
import { describe, expect, it } from 'vitest';
import { BatchJobState, BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import { JobRecord } from './job.js';
import { normalizeSpec } from './spec.js';

describe('batch preemption', () => {
  it('retries a preempted task without consuming its retry budget', () => {
    const spec = normalizeSpec(
      BatchJobSpec.fromPartial({ name: 'crunch', command: 'true', completions: 1, maxRetries: 1 }),
    );
    const job = new JobRecord(spec, 0);
    const ids: string[] = [];
    const launch = (now: number): string => {
      expect(job.launchable(now)).toBe(1);
      const next = job.launch((index, attempt) => `crunch.${index}.${attempt}`);
      if (!next) throw new Error('nothing to launch');
      ids.push(next.taskId);
      return next.taskId;
    };
    // Preempted three times: ready again at once each time, no retry used.
    for (let i = 0; i < 3; i++) expect(job.ended(launch(0), false, 0, true)).toBe(false);
    expect(job.toProto()).toMatchObject({ retried: 0, failed: 0, pending: 1 });
    // One real failure: retried (the budget of 1), after the backoff.
    expect(job.ended(launch(0), false, 0)).toBe(false);
    expect(job.toProto().retried).toBe(1);
    // The second real failure ends the job.
    expect(job.ended(launch(10_000), false, 10_000)).toBe(true);
    expect(job.state).toBe(BatchJobState.BATCH_FAILED);
    // Every attempt had its own task id.
    expect(new Set(ids).size).toBe(ids.length);
  });
});
