/**
 * Acknowledgements of agents' status updates, sent in batches: those due to one agent in one turn
 * of the event loop leave as one message (`acks`), instead of one `ack` message each (issue 16:
 * 132,982 tasks starting is 132,982 updates, each acknowledged). Nothing about delivery changes:
 * an agent still resends an update until its acknowledgement arrives, and a batch lost with its
 * stream is the same as the single acknowledgements lost with it.
 */
import type { StatusUpdateAck } from '../../proto/gen/galaxy/v1/agent.js';
import type { AgentConnection } from '../records.js';

/** The acknowledgements waiting for the end of this turn, by agent stream. */
export class AckOutbox {
  private readonly pending = new Map<AgentConnection, StatusUpdateAck[]>();
  private scheduled = false;
  /** Messages sent so far, and the acknowledgements they carried (GetMasterStats). */
  messages = 0;
  acks = 0;

  /** @param schedule runs the flush once the current turn is over (tests pass their own) */
  constructor(private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush)) {}

  /** Queues an acknowledgement for the agent on `connection` (none: the agent is away, nothing to send). */
  send(connection: AgentConnection | undefined, ack: StatusUpdateAck): void {
    if (connection === undefined) return;
    const list = this.pending.get(connection);
    if (list) list.push(ack);
    else this.pending.set(connection, [ack]);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.flush();
    });
  }

  /** Sends what is queued: one message per agent stream. */
  flush(): void {
    this.scheduled = false;
    for (const [connection, acks] of this.pending) {
      this.messages += 1;
      this.acks += acks.length;
      const [only] = acks;
      if (acks.length === 1 && only) connection.send({ message: { $case: 'ack', ack: only } });
      else connection.send({ message: { $case: 'acks', acks: { acks } } });
    }
    this.pending.clear();
  }
}
