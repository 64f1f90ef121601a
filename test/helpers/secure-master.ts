/**
 * A real `galaxy master` process on a local coordinator, authenticating every call, with users
 * made in that coordinator first (as `galaxy user add` would): the target of the attack tests in
 * `test/security/`. The test keeps its own coordinator session to grant authorities and read the
 * registry, and can start another master on the same coordinator (a failover).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { clientOptions } from '../../core/auth/client.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { callUnary } from '../../core/grpc-errors.js';
import { GrantStore } from '../../core/tenancy/grants.js';
import { QuotaStore } from '../../core/tenancy/quotas.js';
import { AgentIdentityStore } from '../../core/tenancy/agent-identities.js';
import { UserStore } from '../../core/tenancy/users.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';
import {
  OperatorClient,
  type FrameworkSummary,
  type ListFrameworksResponse,
  type ListTasksResponse,
} from '../../proto/gen/galaxy/v1/operator.js';
import { startMasterWith, type GalaxyProcess } from './processes.js';

/** A master process and where it serves. */
export interface MasterProcess {
  readonly proc: GalaxyProcess;
  readonly address: string;
}

/** The cluster under attack. */
export interface SecureMaster {
  /** `local:<dir>`. */
  readonly url: string;
  /** The test's own session on the coordinator. */
  readonly coordinator: Coordinator;
  /** Bearer tokens by user: `admin` (an admin), `agent` (what the fake agents register with), `agentCredential` (an agent's own), and the users asked for. */
  readonly tokens: Readonly<Record<string, string>>;
  readonly grants: GrantStore;
  readonly quotas: QuotaStore;
  /** The master serving now. */
  master: MasterProcess;
  /** Starts another master on the same coordinator (it leads once the current one is gone). */
  startMaster(): Promise<MasterProcess>;
  /** ListFrameworks as `user`. */
  frameworks(user: string): Promise<FrameworkSummary[]>;
  /** ListTasks as `user`. */
  tasks(user: string): Promise<Task[]>;
  /** Stops every master, closes the session and removes the coordinator's directory. */
  stop(): Promise<void>;
}

/** Makes the users (non-admins) and starts a master on a fresh local coordinator. */
export async function startSecureMaster(users: readonly string[]): Promise<SecureMaster> {
  const dir = await mkdtemp(join(tmpdir(), 'galaxy-security-'));
  const url = `local:${join(dir, 'coord')}`;
  const coordinator = await openCoordinator(url);
  const store = await UserStore.open(coordinator);
  const admin = (await store.add('admin', { admin: true })).token;
  // The fake agents register with the admin's token (an admin may register any agent id, also
  // again after a failover); agents' own credentials are attacked in agent-identity.test.ts.
  // `agentCredential` is a real agent's credential (bound to agent id `agent-x`), for attacks that
  // must come from an agent principal.
  const identities = await AgentIdentityStore.open(coordinator);
  const agentCredential = await identities.issueCredential('agent-x');
  identities.close();
  const tokens: Record<string, string> = { admin, agent: admin, agentCredential };
  for (const user of users) tokens[user] = (await store.add(user)).token;
  store.close();
  const masters: GalaxyProcess[] = [];
  const startMaster = async (): Promise<MasterProcess> => {
    const started = await startMasterWith(['--coordinator', url, '--offer-timeout', '0']);
    masters.push(started.proc);
    return started;
  };
  const operator = (token: string) => {
    const client = new OperatorClient(cluster.master.address, credentials.createInsecure(), clientOptions(token));
    return client;
  };
  const cluster: SecureMaster = {
    url,
    coordinator,
    tokens,
    grants: new GrantStore(coordinator, { cacheMs: 0 }),
    quotas: new QuotaStore(coordinator),
    master: await startMaster(),
    startMaster,
    frameworks: async (user) => {
      const client = operator(tokens[user] ?? '');
      try {
        const answer = await callUnary<ListFrameworksResponse>('the master', (cb) => client.listFrameworks({}, cb));
        return answer.frameworks;
      } finally {
        client.close();
      }
    },
    tasks: async (user) => {
      const client = operator(tokens[user] ?? '');
      try {
        const answer = await callUnary<ListTasksResponse>('the master', (cb) =>
          client.listTasks({ frameworkId: '' }, cb),
        );
        return answer.tasks;
      } finally {
        client.close();
      }
    },
    stop: async () => {
      await Promise.all(masters.map((m) => m.stop('SIGKILL')));
      await coordinator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}
