/**
 * A real cluster for tests of the shared frameworks' restarts and failovers: a `galaxy master`
 * process (users and agents in its local coordinator), a `galaxy agent` process running tasks as
 * plain processes, and any number of `galaxy framework run batch|mapreduce` processes, all on
 * real gRPC and sharing the master's coordinator, where the frameworks keep their jobs and elect
 * their leader. The test keeps its own coordinator session to make users, grants and quotas and to
 * read what is stored. Stopping kills every process, every task the agent started, and removes the
 * directory, even after a failure.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { GrantStore } from '../../core/tenancy/grants.js';
import { QuotaStore } from '../../core/tenancy/quotas.js';
import { UserStore } from '../../core/tenancy/users.js';
import { operatorClient, type Operator } from '../../cli/operator-client.js';
import { eventually } from './async-queue.js';
import { masterJoinToken, writeJoinToken } from './identity.js';
import {
  galaxy,
  killWithEnv,
  releaseUidClaims,
  shutdownAgent,
  startMasterProcess,
  type GalaxyProcess,
  type MasterProcess,
} from './processes.js';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { defaultCgroupRoot } from '../../agent/containerizer/index.js';

/** A `galaxy framework run` process and the address of its API. */
export interface FrameworkProcess {
  readonly proc: GalaxyProcess;
  /** Its API's address (it serves as a standby too). */
  readonly api: string;
  /** Resolves with the framework id once it leads and subscribed. */
  subscribed(timeoutMs?: number): Promise<string>;
}

/** The running cluster. */
export interface FrameworkCluster {
  readonly dir: string;
  readonly master: MasterProcess;
  /** The master's coordinator, `local:<dir>/master/coord`: users, grants, quotas, frameworks' jobs, elections. */
  readonly coordinator: string;
  /** The test's own session on it. */
  readonly session: Coordinator;
  readonly grants: GrantStore;
  readonly quotas: QuotaStore;
  readonly adminToken: string;
  /** The agent's work directory: every task carries it in `GALAXY_SANDBOX`. */
  readonly agentDir: string;
  /** A directory the agent allows bind volumes from (`--allowed-host-paths`), e.g. MapReduce input. */
  readonly shared: string;
  readonly agent: GalaxyProcess;
  /** Makes user `name` (not an admin) holding `authorities` in pool `default`; resolves with its token. */
  addUser(name: string, authorities: readonly string[]): Promise<string>;
  /** Starts `galaxy framework run <name>` as the admin (or the holder of `token`) against the master. */
  startFramework(name: 'batch' | 'mapreduce', token?: string): Promise<FrameworkProcess>;
  /** Runs `galaxy …args` with `token` (default the admin's) to its end. */
  cli(args: string[], token?: string): Promise<{ code: number | null; out: string }>;
  /** An operator client of the master as the admin (closed by the caller). */
  operator(): Operator;
  stop(): Promise<void>;
}

/** How the agent differs from the default (4 cpus, 4 GiB, plain processes). */
export interface FrameworkClusterAgent {
  /** `--resources` without the ports, e.g. `cpus:1;mem:1GiB`. */
  readonly resources?: string;
  /** More `galaxy agent` flags (later ones win, e.g. `--isolation cpu,memory`). A containerizing agent is shut down, not killed. */
  readonly args?: readonly string[];
}

/** Starts the master and the agent (ports for tasks in `ports`, e.g. `[23000-23099]`). */
export async function startFrameworkCluster(
  name: string,
  ports: string,
  agentOptions: FrameworkClusterAgent = {},
): Promise<FrameworkCluster> {
  const dir = await mkdtemp(join(tmpdir(), `galaxy-${name}-`));
  const agentDir = join(dir, 'agent');
  const started: GalaxyProcess[] = [];
  let session: Coordinator | undefined;
  // Containers outlive a killed agent (by design): a containerizing agent is shut down first.
  let shutDown: () => Promise<void> = () => Promise.resolve();
  const stop = async (): Promise<void> => {
    await shutDown().catch(() => undefined);
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    killWithEnv(`GALAXY_SANDBOX=${agentDir}`);
    if (agentOptions.args) {
      releaseUidClaims(agentDir);
      await detectCgroupDriver()
        .remove(defaultCgroupRoot(agentDir), ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'freezer'])
        .catch(() => undefined);
    }
    await session?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mkdir(join(dir, 'master'));
    await mkdir(join(dir, 'shared'));
    const master = await startMasterProcess(join(dir, 'master'));
    started.push(master.proc);
    session = await openCoordinator(master.coordinator);
    const joinFile = await writeJoinToken(join(dir, 'join.token'), await masterJoinToken(master));
    const agent = galaxy([
      'agent',
      '--master',
      master.address,
      '--work-dir',
      agentDir,
      '--hostname',
      '127.0.0.1',
      '--resources',
      `${agentOptions.resources ?? 'cpus:4;mem:4GiB'};ports:${ports}`,
      '--isolation',
      '',
      '--join-token-file',
      joinFile,
      '--allowed-host-paths',
      join(dir, 'shared'),
      ...(agentOptions.args ?? []),
    ]);
    started.push(agent);
    if (agentOptions.args)
      shutDown = () => shutdownAgent(agent, agentDir, master.address, { GALAXY_TOKEN: master.adminToken });
    const operator = operatorClient(master.address, master.adminToken);
    try {
      await eventually(
        async () => (await operator.listAgents({}).then((r) => r.agents)).some((a) => a.active),
        20_000,
        'the agent to register',
      );
    } finally {
      operator.close();
    }
    const users = await UserStore.open(session);
    const grants = new GrantStore(session, { cacheMs: 0 });
    const opened = session;
    const cli = async (args: string[], token = master.adminToken) => {
      const proc = galaxy(args, { GALAXY_TOKEN: token, GALAXY_LOG_LEVEL: 'warn' });
      started.push(proc);
      const code = await proc.exited;
      return { code, out: proc.lines.items.join('\n') };
    };
    return {
      dir,
      master,
      coordinator: master.coordinator,
      session: opened,
      grants,
      quotas: new QuotaStore(opened),
      adminToken: master.adminToken,
      agentDir,
      shared: join(dir, 'shared'),
      agent,
      cli,
      operator: () => operatorClient(master.address, master.adminToken),
      addUser: async (user, authorities) => {
        const { token } = await users.add(user);
        await grants.grant(user, 'default', [...authorities]);
        return token;
      },
      startFramework: async (framework, token = master.adminToken) => {
        const proc = galaxy(
          [
            'framework',
            'run',
            framework,
            '--master',
            master.address,
            '--coordinator',
            master.coordinator,
            '--option',
            'listen=127.0.0.1:0',
          ],
          { GALAXY_TOKEN: token },
        );
        started.push(proc);
        const prefix = `${framework} API listening on `;
        const line = await proc.lines.waitFor((l) => l.startsWith(prefix), 20_000, `the ${framework} API`);
        const subscribedPrefix = `framework ${framework} subscribed as `;
        return {
          proc,
          api: line.slice(prefix.length).trim(),
          subscribed: async (timeoutMs = 20_000) =>
            (await proc.lines.waitFor((l) => l.startsWith(subscribedPrefix), timeoutMs, `${framework} to subscribe`))
              .slice(subscribedPrefix.length)
              .trim(),
        };
      },
      stop: async () => {
        users.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
