/**
 * The machine and accounting calls of the Operator API, as the CLI makes them (through
 * `Operator.machines`, so they share its channel and credentials).
 */
import type { ServiceError } from '@grpc/grpc-js';
import type {
  AgentLabelResponse,
  AgentLabels,
  GetAccountingResponse,
  ListAgentLabelsResponse,
  ListPoolsResponse,
  OperatorClient,
  PoolEntry,
} from '../proto/gen/galaxy/v1/operator.js';

type Unary = <Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown) => Promise<Res>;

/** Pools, labels, modes and accounting. */
export interface MachineCalls {
  addPool(name: string, description: string): Promise<PoolEntry | undefined>;
  removePool(name: string): Promise<void>;
  listPools(): Promise<PoolEntry[]>;
  assignPool(agentId: string, pool: string): Promise<void>;
  addLabel(agentId: string, label: string): Promise<string[]>;
  removeLabel(agentId: string, label: string): Promise<string[]>;
  listLabels(agentId: string): Promise<AgentLabels[]>;
  setMode(agentId: string, mode: string): Promise<void>;
  accounting(user: string, pool: string, sinceS: number): Promise<GetAccountingResponse>;
}

/** The calls over `client`, each made through `unary` (which turns errors into coded ones). */
export function machineCalls(client: OperatorClient, unary: Unary): MachineCalls {
  return {
    addPool: async (name, description) =>
      (await unary<{ pool?: PoolEntry }>((cb) => client.addPool({ name, description }, cb))).pool,
    removePool: async (name) => {
      await unary((cb) => client.removePool({ name }, cb));
    },
    listPools: async () => (await unary<ListPoolsResponse>((cb) => client.listPools({}, cb))).pools,
    assignPool: async (agentId, pool) => {
      await unary((cb) => client.assignAgentPool({ agentId, pool }, cb));
    },
    addLabel: async (agentId, label) =>
      (await unary<AgentLabelResponse>((cb) => client.addAgentLabel({ agentId, label }, cb))).labels,
    removeLabel: async (agentId, label) =>
      (await unary<AgentLabelResponse>((cb) => client.removeAgentLabel({ agentId, label }, cb))).labels,
    listLabels: async (agentId) =>
      (await unary<ListAgentLabelsResponse>((cb) => client.listAgentLabels({ agentId }, cb))).agents,
    setMode: async (agentId, mode) => {
      await unary((cb) => client.setAgentMode({ agentId, mode }, cb));
    },
    accounting: (user, pool, sinceS) =>
      unary<GetAccountingResponse>((cb) => client.getAccounting({ user, pool, sinceS }, cb)),
  };
}
