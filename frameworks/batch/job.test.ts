/**
 * One batch job's bookkeeping: retries and their backoff (`maxRetries: 0` is no retry), preemption
 * that uses up no retry, and the invariants a failover relies on: an index never runs twice at
 * once, succeeds at most once, and a job read back from its stored form goes on as it was.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchJobState, BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import { JobRecord } from './job.js';
import { batchSpecFromProto, specToProto } from './spec/parse.js';

const spec = (fields: Partial<BatchJobSpec>): BatchJobSpec =>
  specToProto(batchSpecFromProto(BatchJobSpec.fromPartial({ name: 'crunch', command: 'true', ...fields })));

/** Launches the next ready index of `job` (there must be one); returns its task id. */
function launchOne(job: JobRecord, now = 0): string {
  expect(job.launchable(now)).toBeGreaterThan(0);
  const next = job.launch((index, attempt) => `crunch.${index}.${attempt}`, 'agent-1');
  if (!next) throw new Error('nothing to launch');
  return next.taskId;
}

describe('a batch job', () => {
  it('retries a preempted task without consuming its retry budget', () => {
    const job = new JobRecord(spec({ completions: 1, maxRetries: 1 }), 0);
    const ids: string[] = [];
    // Preempted three times: ready again at once each time, no retry used.
    for (let i = 0; i < 3; i++) {
      ids.push(launchOne(job));
      expect(job.ended(ids.at(-1) ?? '', false, 0, true)).toBe(false);
    }
    expect(job.toProto()).toMatchObject({ retried: 0, failed: 0, pending: 1 });
    // One real failure: retried (the budget of 1), after the backoff.
    ids.push(launchOne(job));
    expect(job.ended(ids.at(-1) ?? '', false, 0)).toBe(false);
    expect(job.toProto().retried).toBe(1);
    expect(job.launchable(999)).toBe(0);
    // The second real failure ends the job.
    ids.push(launchOne(job, 1000));
    expect(job.ended(ids.at(-1) ?? '', false, 1000)).toBe(true);
    expect(job.state).toBe(BatchJobState.BATCH_FAILED);
    // Every attempt had its own task id.
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('fails an index at its first failure with maxRetries: 0', () => {
    const job = new JobRecord(spec({ completions: 2, maxRetries: 0 }), 0);
    const first = launchOne(job);
    const second = launchOne(job);
    expect(job.ended(first, false, 0)).toBe(false);
    expect(job.ended(second, true, 0)).toBe(true);
    expect(job.toProto()).toMatchObject({ state: BatchJobState.BATCH_FAILED, failed: 1, succeeded: 1, retried: 0 });
    expect(job.message).toBe('1 of 2 completions ran out of retries');
  });

  it('doubles the backoff with every retry', () => {
    const job = new JobRecord(spec({ completions: 1, maxRetries: 3, backoffS: 2 }), 0);
    job.ended(launchOne(job, 0), false, 0);
    expect(job.nextRetryAt()).toBe(2000);
    job.ended(launchOne(job, 2000), false, 2000);
    expect(job.nextRetryAt()).toBe(6000);
  });

  it('never runs an index twice at once, succeeds each once, and goes on the same after being stored and read back', () => {
    type Event =
      | { kind: 'launch' }
      | { kind: 'end'; pick: number; outcome: 'ok' | 'fail' | 'preempted' | 'unknown' }
      | { kind: 'restore' };
    const event = fc.oneof(
      fc.constant<Event>({ kind: 'launch' }),
      fc.record({
        kind: fc.constant('end' as const),
        pick: fc.nat(),
        outcome: fc.constantFrom('ok' as const, 'fail' as const, 'preempted' as const, 'unknown' as const),
      }),
      fc.constant<Event>({ kind: 'restore' }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(event, { maxLength: 120 }),
        (completions, parallelism, maxRetries, events) => {
          let job = new JobRecord(spec({ completions, parallelism, maxRetries, backoffS: 0.001 }), 0, 'alice', 'u1');
          let now = 0;
          const successes = new Map<number, number>();
          for (const e of events) {
            now += 10;
            if (e.kind === 'restore') {
              job = JobRecord.fromStored(
                JSON.parse(JSON.stringify(job.toStored())) as ReturnType<JobRecord['toStored']>,
              );
            } else if (e.kind === 'launch') {
              if (job.launchable(now) > 0) job.launch((index, attempt) => `t.${index}.${attempt}`, 'a');
            } else {
              const running = [...job.running];
              const chosen = running[e.pick % Math.max(1, running.length)];
              if (!chosen) continue;
              const [taskId, { index }] = chosen;
              if (e.outcome === 'ok') successes.set(index, (successes.get(index) ?? 0) + 1);
              job.ended(taskId, e.outcome === 'ok', now, e.outcome === 'preempted' || e.outcome === 'unknown');
            }
            const runningIndexes = [...job.running.values()].map((a) => a.index);
            expect(new Set(runningIndexes).size).toBe(runningIndexes.length);
            expect(job.running.size).toBeLessThanOrEqual(parallelism);
            for (const index of runningIndexes) expect(job.succeeded.has(index) || job.failed.has(index)).toBe(false);
            for (const count of successes.values()) expect(count).toBe(1);
            expect(job.succeeded.size).toBe(successes.size);
            const p = job.toProto();
            if (!job.done) expect(p.succeeded + p.failed + p.running + p.pending).toBe(completions);
          }
        },
      ),
    );
  });
});
