/**
 * Acknowledgements to agents leave in batches: those of one turn for one agent are one message,
 * in order; a single one is the plain `ack` message. Counted, not timed.
 */
import { describe, expect, it } from 'vitest';
import type { MasterMessage } from '../../proto/gen/galaxy/v1/agent.js';
import type { AgentConnection } from '../records.js';
import { AckOutbox } from './ack-outbox.js';

function fakeConnection(): { connection: AgentConnection; sent: MasterMessage[] } {
  const sent: MasterMessage[] = [];
  const connection = { send: (m: MasterMessage) => sent.push(m) } as unknown as AgentConnection;
  return { connection, sent };
}

describe('AckOutbox', () => {
  it('sends the acknowledgements of one turn as one message per agent, in order', () => {
    const turns: (() => void)[] = [];
    const outbox = new AckOutbox((flush) => turns.push(flush));
    const a = fakeConnection();
    const b = fakeConnection();
    for (let i = 0; i < 500; i++) outbox.send(a.connection, { frameworkId: 'fw', taskId: `t${i}`, uuid: `u${i}` });
    outbox.send(b.connection, { frameworkId: 'fw', taskId: 'x', uuid: 'ux' });
    outbox.send(undefined, { frameworkId: 'fw', taskId: 'away', uuid: 'u' });
    expect(turns).toHaveLength(1);
    expect(a.sent).toHaveLength(0);
    turns[0]?.();
    expect(a.sent).toHaveLength(1);
    const [batch] = a.sent;
    expect(batch?.message?.$case).toBe('acks');
    const acks = batch?.message?.$case === 'acks' ? batch.message.acks.acks : [];
    expect(acks.map((x) => x.taskId)).toEqual(Array.from({ length: 500 }, (_, i) => `t${i}`));
    expect(b.sent).toEqual([{ message: { $case: 'ack', ack: { frameworkId: 'fw', taskId: 'x', uuid: 'ux' } } }]);
    expect({ messages: outbox.messages, acks: outbox.acks }).toEqual({ messages: 2, acks: 501 });

    outbox.send(a.connection, { frameworkId: 'fw', taskId: 'later', uuid: 'ul' });
    expect(turns).toHaveLength(2);
    turns[1]?.();
    expect(a.sent).toHaveLength(2);
  });
});
