/**
 * A promise-based client of the master's Operator API for the CLI.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { clientOptions } from '../core/auth/client.js';
import { callUnary } from '../core/grpc-errors.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { channelCredentials, type TlsFiles } from '../core/tls.js';
import { OperatorClient } from '../proto/gen/galaxy/v1/operator.js';
import type {
  AgentSummary,
  FrameworkSummary,
  GetUsageResponse,
  GetWeightsResponse,
  ListAgentsResponse,
  ListFrameworksResponse,
  ListTasksResponse,
  SetWeightsResponse,
  WeightInfo,
} from '../proto/gen/galaxy/v1/operator.js';
import type { Task, TaskUsage } from '../proto/gen/galaxy/v1/common.js';
import { machineCalls, type MachineCalls } from './machines-client.js';
import { tenancyCalls, type TenancyCalls } from './tenancy-client.js';
import { eventCalls, type EventCalls } from './events-client.js';
import { reservationCalls, type ReservationCalls } from './reservations-client.js';

/** Operator calls against one master. */
export class Operator {
  private readonly client: OperatorClient;

  /** `token` and `tls` default to the CLI's ({@link cliToken}, {@link cliTls}). */
  constructor(
    private readonly master: string,
    token: string | undefined = cliToken(),
    tls: TlsFiles | undefined = cliTls(),
  ) {
    this.client = new OperatorClient(master, channelCredentials(tls), clientOptions(token));
  }

  private unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
    return callUnary(`the master at ${this.master}`, invoke);
  }

  /** Every agent. */
  async agents(): Promise<AgentSummary[]> {
    return (await this.unary<ListAgentsResponse>((cb) => this.client.listAgents({}, cb))).agents;
  }

  /** Every framework. */
  async frameworks(): Promise<FrameworkSummary[]> {
    return (await this.unary<ListFrameworksResponse>((cb) => this.client.listFrameworks({}, cb))).frameworks;
  }

  /** Tasks, optionally of one framework. */
  async tasks(frameworkId = ''): Promise<Task[]> {
    return (await this.unary<ListTasksResponse>((cb) => this.client.listTasks({ frameworkId }, cb))).tasks;
  }

  /** Usage of live tasks, from their agents. */
  async usage(frameworkId = ''): Promise<TaskUsage[]> {
    return (await this.unary<GetUsageResponse>((cb) => this.client.getUsage({ frameworkId }, cb))).tasks;
  }

  /** Role weights. */
  async weights(): Promise<WeightInfo[]> {
    return (await this.unary<GetWeightsResponse>((cb) => this.client.getWeights({}, cb))).weights;
  }

  /** Sets role weights (all or nothing). */
  async setWeights(weights: WeightInfo[]): Promise<void> {
    await this.unary<SetWeightsResponse>((cb) => this.client.setWeights({ weights }, cb));
  }

  /** Machines and accounting (cli/machines.ts): pools, labels, modes, the ledger. */
  get machines(): MachineCalls {
    return machineCalls(this.client, (invoke) => this.unary(invoke));
  }

  /** Authorities and quotas (cli/tenancy.ts). */
  get tenancy(): TenancyCalls {
    return tenancyCalls(this.client, (invoke) => this.unary(invoke));
  }

  /** The master's event log (cli/events.ts). */
  get events(): EventCalls {
    return eventCalls(this.client, (invoke) => this.unary(invoke));
  }

  /** Dynamic reservations (cli/reservations.ts). */
  get reservations(): ReservationCalls {
    return reservationCalls(this.client, (invoke) => this.unary(invoke));
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}
