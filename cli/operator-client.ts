/**
 * A promise-based client of the master's Operator API for the CLI.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { callUnary } from '../core/grpc-errors.js';
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

/** Operator calls against one master. */
export class Operator {
  private readonly client: OperatorClient;

  constructor(private readonly master: string) {
    this.client = new OperatorClient(master, credentials.createInsecure());
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

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}
