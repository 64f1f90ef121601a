/**
 * A simulated cell: a real `galaxy master` process (on a local coordinator in a temporary
 * directory; it authenticates), the real batch framework and AppMaster hosted in this process as
 * `galaxy up` hosts them, and simulated agents in shard processes that join with join tokens. Its
 * `stop()` ends all of it and removes the directory, also after a failure.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentJoinToken, bootstrapIdentity, localCoordinatorUrl, type LocalIdentity } from '../cli/local-identity.js';
import { createLogger } from '../core/logger.js';
import { openCoordinator } from '../core/coordinator/index.js';
import { AgentIdentityStore } from '../core/tenancy/agent-identities.js';
import { runFramework, type FrameworkHandle } from '../frameworks/host/host.js';
import { startMasterProcess, type MasterProcess } from '../bench/failover/master-process.js';
import { Shards, type ShardOptions } from './shards.js';

/** Agents one join token admits at most (docs/security.md). */
const JOIN_TOKEN_MAX_USES = 10_000;
/** Credentials issued at once before the cell starts. */
const ISSUE_AT_ONCE = 256;

/** How the cell runs. */
export interface CellOptions {
  /** Agents in all; `machineArgs` chooses which. */
  readonly agents: number;
  readonly machineArgs: readonly string[];
  readonly speedup: number;
  /** Shard processes (default: one per 5,000 agents, at least 1). */
  readonly shards?: number;
  /** Seconds between the master's allocation passes. */
  readonly allocationIntervalS?: number;
  /** More flags for `galaxy master`, e.g. `--limit maxRecords=300000`. */
  readonly masterArgs?: readonly string[];
  /** Write the master's CPU profile into this directory (`node --cpu-prof`). */
  readonly cpuProfDir?: string;
  /**
   * How agents prove who they are: `join` (one join token per shard, exchanged at the first
   * registration for a credential: the first start of a real cell), or `credential` (each agent's
   * own credential, issued before the master starts: a cell whose agents joined before).
   */
  readonly identity?: 'join' | 'credential';
  /** Start the frameworks (the replay needs them; `sim agents` alone does not). */
  readonly frameworks?: boolean;
  readonly onTaskEvents?: ShardOptions['onTaskEvents'];
  readonly logLevel?: string;
  /**
   * The coordinator (e.g. a `zk://` URL); default a local coordinator in the cell's directory.
   * With one, agents and frameworks find the master through it and follow it through a failover.
   */
  readonly coordinator?: string;
  /** Standby masters besides the leader (default 0). */
  readonly standbys?: number;
  /**
   * The coordinator URL of the hosted frameworks (default `coordinator`): the same coordinator
   * with a longer session, so that a framework hosted in a busy benchmark process keeps its
   * leadership while the masters' session stays short for a fast failover.
   */
  readonly frameworkCoordinator?: string;
}

/** A running cell. */
export interface Cell {
  readonly dir: string;
  readonly coordinator: string;
  /** The master that led first. */
  readonly master: MasterProcess;
  /** Every master started: the leader first, then the standbys. */
  readonly masters: MasterProcess[];
  /** What agents and frameworks are told the master is: its address, or the coordinator. */
  readonly masterTarget: string;
  readonly adminToken: string;
  readonly shards: Shards;
  readonly batch?: FrameworkHandle;
  readonly appmaster?: FrameworkHandle;
  /** Ends everything; the master cleanly (its profile is written). */
  stop(): Promise<void>;
}

/** Polls `check` every `everyMs` until it returns true; throws `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Issues `count` agent credentials (ids `sim-0`…) in the coordinator; resolves with the credentials file's text. */
async function issueCredentials(url: string, count: number): Promise<string> {
  const coordinator = await openCoordinator(url);
  try {
    const identities = await AgentIdentityStore.open(coordinator);
    try {
      const lines: string[] = [];
      // Many at once: each is a coordinator write, and on ZooKeeper each is followed by a list
      // of every credential (the store's watch re-arms on the parent): writes in flight together
      // share that list. 16 at a time took over 4 minutes for 12,397; 256, seconds.
      for (let i = 0; i < count; i += ISSUE_AT_ONCE) {
        const ids = Array.from({ length: Math.min(ISSUE_AT_ONCE, count - i) }, (_, j) => `sim-${i + j}`);
        const credentials = await Promise.all(ids.map((id) => identities.issueCredential(id)));
        ids.forEach((id, j) => lines.push(`${id} ${credentials[j] ?? ''}`));
      }
      return `${lines.join('\n')}\n`;
    } finally {
      identities.close();
    }
  } finally {
    await coordinator.close();
  }
}

/** Starts a cell; on failure, what was started is stopped before the error is thrown. */
export async function startCell(options: CellOptions): Promise<Cell> {
  const dir = await mkdtemp(join(tmpdir(), 'galaxy-sim-'));
  const coordinator = options.coordinator ?? localCoordinatorUrl(dir);
  let identity: LocalIdentity | undefined;
  let master: MasterProcess | undefined;
  const masters: MasterProcess[] = [];
  let shards: Shards | undefined;
  let batch: FrameworkHandle | undefined;
  let appmaster: FrameworkHandle | undefined;
  const stop = async (): Promise<void> => {
    await shards?.stop().catch(() => undefined);
    await batch?.stop().catch(() => undefined);
    await appmaster?.stop().catch(() => undefined);
    // A master writing its CPU profile needs time to stop cleanly with thousands of agents.
    await Promise.all(masters.map((m) => m.stop(options.cpuProfDir ? 180_000 : 15_000).catch(() => undefined)));
    await identity?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    identity = await bootstrapIdentity(dir, coordinator);
    const count = options.shards ?? Math.max(1, Math.ceil(options.agents / 5000));
    const perShard = Math.ceil(options.agents / count);
    if (perShard > JOIN_TOKEN_MAX_USES) throw new RangeError(`at most ${JOIN_TOKEN_MAX_USES} agents per shard`);
    const identityArgs: string[][] = [];
    if (options.identity === 'credential') {
      const file = join(dir, 'credentials');
      await writeFile(file, await issueCredentials(coordinator, options.agents), { mode: 0o600 });
      for (let i = 0; i < count; i++) identityArgs.push(['--credentials', file]);
    } else {
      for (let i = 0; i < count; i++) {
        const file = join(dir, `join-token-${i}`);
        await writeFile(file, await agentJoinToken(coordinator, 3_600_000, perShard), { mode: 0o600 });
        identityArgs.push(['--join-token-file', file]);
      }
    }
    const startOne = (): Promise<MasterProcess> =>
      startMasterProcess(
        coordinator,
        [
          '--allocation-interval',
          String(options.allocationIntervalS ?? 0.5),
          '--agent-reregister-timeout',
          '60',
          ...(options.masterArgs ?? []),
        ],
        { nodeArgs: options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [] },
      );
    master = await startOne();
    masters.push(master);
    const leader = master;
    // A master reads every agent's credential before it leads: minutes are not too long at 12,000.
    await until('the master to lead', () => leader.ledAt() !== undefined, 300_000, 50);
    for (let i = 0; i < (options.standbys ?? 0); i++) masters.push(await startOne());
    // With standbys, agents and frameworks follow the leader through the coordinator.
    const target = options.coordinator === undefined && masters.length === 1 ? master.address : coordinator;
    const logLevel = options.logLevel ?? 'warn';
    const auth = { authenticate: identity.users.authenticate };
    if (options.frameworks) {
      const address = target;
      const token = identity.adminToken;
      const hosted = (name: string) =>
        runFramework(name, {
          master: address,
          options: { listen: '127.0.0.1:0', coordinator: options.frameworkCoordinator ?? coordinator },
          log: createLogger(name, logLevel),
          token,
          auth,
        });
      batch = await hosted('batch');
      appmaster = await hosted('appmaster');
    }
    shards = new Shards({
      master: target,
      identityArgs,
      machineArgs: options.machineArgs,
      speedup: options.speedup,
      onTaskEvents: options.onTaskEvents,
    });
    shards.start();
    return {
      dir,
      coordinator,
      master,
      masters,
      masterTarget: target,
      adminToken: identity.adminToken,
      shards,
      batch,
      appmaster,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
