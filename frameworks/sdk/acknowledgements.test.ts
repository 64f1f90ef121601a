/** Batched acknowledgements: one call per turn of the event loop, a lone one as plain ACKNOWLEDGE. */
import { describe, expect, it } from 'vitest';
import type { SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { ACKNOWLEDGEMENTS_PER_CALL, AcknowledgementBatcher, acknowledgementCall } from './acknowledgements.js';

type Call = NonNullable<SchedulerCall['call']>;
const ack = (i: number) => ({ agentId: 'a', taskId: `t${i}`, uuid: `u${i}` });
const turn = () => new Promise((r) => setImmediate(r));

describe('acknowledgements', () => {
  it('sends a lone acknowledgement as ACKNOWLEDGE and several as one ACKNOWLEDGE_MANY, in order', () => {
    expect(acknowledgementCall([ack(1)])).toEqual({ $case: 'acknowledge', acknowledge: ack(1) });
    expect(acknowledgementCall([ack(1), ack(2)])).toEqual({
      $case: 'acknowledgeMany',
      acknowledgeMany: { acknowledgements: [ack(1), ack(2)] },
    });
  });

  it('batches the acknowledgements of one turn, splits big batches, and settles each with its call', async () => {
    const sent: Call[] = [];
    const batcher = new AcknowledgementBatcher((call) => {
      sent.push(call);
      return call.$case === 'acknowledge' && call.acknowledge.taskId === 'bad'
        ? Promise.reject(new Error('refused'))
        : Promise.resolve();
    });
    const first = Array.from({ length: ACKNOWLEDGEMENTS_PER_CALL + 5 }, (_, i) => batcher.add(ack(i)));
    expect(sent).toHaveLength(0); // nothing before the turn ends
    await Promise.all(first);
    expect(sent.map((c) => (c.$case === 'acknowledgeMany' ? c.acknowledgeMany.acknowledgements.length : 1))).toEqual([
      ACKNOWLEDGEMENTS_PER_CALL,
      5,
    ]);
    await turn();
    const lone = batcher.add({ agentId: 'a', taskId: 'bad', uuid: 'x' });
    await expect(lone).rejects.toThrow('refused');
    expect(sent.at(-1)).toEqual({ $case: 'acknowledge', acknowledge: { agentId: 'a', taskId: 'bad', uuid: 'x' } });
  });

  it('drops what is queued when cleared, rejecting it, and sends nothing', async () => {
    const sent: Call[] = [];
    const batcher = new AcknowledgementBatcher((call) => {
      sent.push(call);
      return Promise.resolve();
    });
    const queued = batcher.add(ack(1));
    batcher.clear(new Error('stopped'));
    await expect(queued).rejects.toThrow('stopped');
    await turn();
    expect(sent).toHaveLength(0);
  });
});
