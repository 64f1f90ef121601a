/**
 * What the benchmark asks of the masters, through their Operator API: who answers as the leader,
 * and what the leader knows of agents, frameworks and tasks. Each address gets its own channel with
 * a short reconnect backoff, so a master that just started listening is seen at once rather than
 * after grpc-js' default 1 s backoff.
 */
import { clientOptions } from '../../core/auth/client.js';
import { Metadata } from '@grpc/grpc-js';
import { isGalaxyError } from '../../core/errors.js';
import { callUnary } from '../../core/grpc-errors.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';
import {
  OperatorClient,
  type AgentSummary,
  type FrameworkSummary,
  type ListAgentsResponse,
  type ListFrameworksResponse,
  type ListTasksResponse,
  ListEventsRequest,
  type ListEventsResponse,
  type GetMasterStatsResponse,
  type MasterEvent,
} from '../../proto/gen/galaxy/v1/operator.js';
import { channelCredentials } from '../../core/tls.js';

const CALL_TIMEOUT_MS = 1000;

/** Operator calls against one master address. */
export class Probe {
  private readonly client: OperatorClient;

  constructor(
    readonly address: string,
    token?: string,
  ) {
    this.client = new OperatorClient(
      address,
      channelCredentials(),
      clientOptions(token, {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.initial_reconnect_backoff_ms': 20,
        'grpc.max_reconnect_backoff_ms': 100,
      }),
    );
  }

  private options(): { deadline: number } {
    return { deadline: Date.now() + CALL_TIMEOUT_MS };
  }

  async agents(): Promise<AgentSummary[]> {
    const res = await callUnary<ListAgentsResponse>(this.address, (cb) =>
      this.client.listAgents({}, new Metadata(), this.options(), cb),
    );
    return res.agents;
  }

  async frameworks(): Promise<FrameworkSummary[]> {
    const res = await callUnary<ListFrameworksResponse>(this.address, (cb) =>
      this.client.listFrameworks({}, new Metadata(), this.options(), cb),
    );
    return res.frameworks;
  }

  async tasks(frameworkId: string): Promise<Task[]> {
    const res = await callUnary<ListTasksResponse>(this.address, (cb) =>
      this.client.listTasks({ frameworkId }, new Metadata(), this.options(), cb),
    );
    return res.tasks;
  }

  /** The master's own figures (GetMasterStats). */
  async stats(timeoutMs = 10_000): Promise<GetMasterStatsResponse> {
    return callUnary<GetMasterStatsResponse>(this.address, (cb) =>
      this.client.getMasterStats({}, new Metadata(), { deadline: Date.now() + timeoutMs }, cb),
    );
  }

  /** The master's event log of `kind` ('' = every kind), oldest first. */
  async events(kind = ''): Promise<MasterEvent[]> {
    const res = await callUnary<ListEventsResponse>(this.address, (cb) =>
      this.client.listEvents(
        ListEventsRequest.fromPartial({ kind }),
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        cb,
      ),
    );
    return res.events;
  }

  /** True when this master leads and answers; false when it refuses as a standby or cannot be reached. */
  async leads(): Promise<boolean> {
    try {
      await this.agents();
      return true;
    } catch (error) {
      if (!isGalaxyError(error, 'GALAXY_E_NOT_LEADER') && !isGalaxyError(error, 'GALAXY_E_UNAVAILABLE'))
        process.stderr.write(`probe ${this.address}: ${String(error)}\n`);
      return false;
    }
  }

  close(): void {
    this.client.close();
  }
}

/** Polls `check` every `everyMs` until it returns a value; rejects after `timeoutMs`. */
export async function poll<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
