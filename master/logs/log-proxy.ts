/**
 * The master's side of the agents' LogRead/LogData exchange: one read sent down an agent's stream,
 * its answer matched by request id and accepted only from that agent. Reads are pulled one at a
 * time per follower, so what an agent sends is bounded by what the master asked for.
 */
import { ErrorCodes, GalaxyError, type ErrorCode } from '../../core/errors.js';
import type { LogData, LogRead } from '../../proto/gen/galaxy/v1/logs.js';
import type { MasterContext } from '../context.js';

interface Pending {
  readonly agentId: string;
  readonly settle: (data: LogData | GalaxyError) => void;
}

/** How much longer than the read's own wait the master waits for an agent's answer. */
const ANSWER_GRACE_MS = 10_000;

/** Sends reads to agents and matches their answers. */
export class LogProxy {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly ctx: MasterContext) {}

  /** Reads held at this moment (for limits and tests). */
  get reads(): number {
    return this.pending.size;
  }

  /**
   * Asks agent `agentId` for one chunk; rejects with `GALAXY_E_AGENT_NOT_CONNECTED` when it is not
   * connected or does not answer in time, and with the agent's own coded error.
   */
  read(agentId: string, read: Omit<LogRead, 'requestId'>): Promise<LogData> {
    const connection = this.ctx.agents.get(agentId)?.connection;
    if (!connection?.isOpen)
      return Promise.reject(
        new GalaxyError('GALAXY_E_AGENT_NOT_CONNECTED', `agent ${agentId}, where the task ran, is not connected`),
      );
    const requestId = this.nextId++;
    return new Promise<LogData>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(
          requestId,
          new GalaxyError('GALAXY_E_AGENT_NOT_CONNECTED', `agent ${agentId} did not answer a log read in time`),
        );
      }, read.waitMs + ANSWER_GRACE_MS);
      this.pending.set(requestId, {
        agentId,
        settle: (data) => {
          clearTimeout(timer);
          if (data instanceof GalaxyError) reject(data);
          else resolve(data);
        },
      });
      connection.send({ message: { $case: 'logRead', logRead: { ...read, requestId } } });
    });
  }

  /** An agent's answer; one for a read it was not asked is ignored. */
  answer(agentId: string, data: LogData): void {
    if (this.pending.get(data.requestId)?.agentId !== agentId) return;
    if (data.errorCode !== '') {
      // An agent's word is not trusted to name a code that exists.
      const code: ErrorCode = data.errorCode in ErrorCodes ? (data.errorCode as ErrorCode) : 'GALAXY_E_INTERNAL';
      this.settle(data.requestId, new GalaxyError(code, data.errorMessage.slice(0, 1000)));
      return;
    }
    this.settle(data.requestId, data);
  }

  /** Fails every read held by an agent that went away. */
  agentGone(agentId: string): void {
    for (const [id, pending] of this.pending)
      if (pending.agentId === agentId)
        this.settle(id, new GalaxyError('GALAXY_E_AGENT_NOT_CONNECTED', `agent ${agentId} disconnected`));
  }

  private settle(requestId: number, data: LogData | GalaxyError): void {
    const pending = this.pending.get(requestId);
    if (!pending) return;
    this.pending.delete(requestId);
    pending.settle(data);
  }
}
