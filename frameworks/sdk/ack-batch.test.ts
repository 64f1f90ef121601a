/**
 * A driver's automatic acknowledgements of one turn are one call (or several of ACKS_PER_CALL),
 * in order; a failed call is reported with its acknowledgements. Counted, not timed.
 */
import { describe, expect, it } from 'vitest';
import type { Acknowledge } from '../../proto/gen/galaxy/v1/scheduler.js';
import { AckBatch, ACKS_PER_CALL } from './ack-batch.js';

describe('AckBatch', () => {
  it('sends one turn of acknowledgements in as few calls as the bound allows, in order', async () => {
    const turns: (() => void)[] = [];
    const calls: Acknowledge[][] = [];
    const failures: number[] = [];
    const batch = new AckBatch(
      (acks) => {
        calls.push(acks);
        return calls.length === 3 ? Promise.reject(new Error('the link broke')) : Promise.resolve();
      },
      (acks) => failures.push(acks.length),
      (flush) => turns.push(flush),
    );
    const count = ACKS_PER_CALL * 2 + 5;
    for (let i = 0; i < count; i++) batch.add({ agentId: 'a', taskId: `t${i}`, uuid: `u${i}` });
    expect(turns).toHaveLength(1);
    turns[0]?.();
    expect(calls.map((c) => c.length)).toEqual([ACKS_PER_CALL, ACKS_PER_CALL, 5]);
    expect(calls.flat().map((a) => a.taskId)).toEqual(Array.from({ length: count }, (_, i) => `t${i}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toEqual([5]);
  });
});
