/**
 * A master that runs with standbys: it contends for leadership through the {@link Coordinator}
 * (ephemeral sequential entries; the lowest leads). While it stands by, its port answers every call
 * with `GALAXY_E_NOT_LEADER` naming the leader, so agents and frameworks look the leader up again.
 * Once elected it serves as the master with the registry plugin (`registry.ts`: what cannot be
 * rebuilt from agents, loaded before it serves), and rebuilds tasks from the agents that
 * re-register. When it loses leadership (its coordinator session ended) it stops serving at once:
 * two masters never act together.
 */
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadAllocator } from '../allocators/index.js';
import type { Coordinator, Leadership } from '../core/coordinator/coordinator.js';
import { electInHelper, type ElectionFence, type HelperCandidacy } from '../core/coordinator/elect-in-helper.js';
import { openCoordinator, urlSessionMs } from '../core/coordinator/index.js';
import { toGrpcStatus } from '../core/grpc-errors.js';
import { serveGrpc, type ServingApi } from '../core/grpc-server.js';
import { notLeader } from '../core/not-leader.js';
import { MASTER_GROUP } from '../core/leader-locator.js';
import { createLogger, type Logger } from '../core/logger.js';
import { AgentGatewayService } from '../proto/gen/galaxy/v1/agent.js';
import { OperatorService } from '../proto/gen/galaxy/v1/operator.js';
import { SchedulerService } from '../proto/gen/galaxy/v1/scheduler.js';
import { Master } from './master.js';
import { UserStore } from '../core/tenancy/users.js';
import { AgentIdentityStore } from '../core/tenancy/agent-identities.js';
import { AgentIdentityAdminService } from '../proto/gen/galaxy/v1/agent_identity.js';
import type { MasterOptions } from './options.js';

/** How to run a master with standbys. */
export interface CandidateOptions extends MasterOptions {
  /** The coordinator URL (`zk://…` or `local:/dir`). */
  readonly coordinator: string;
  /**
   * Authenticate every call against the users and agent identities in the coordinator (`galaxy
   * master` does unless `--insecure-no-auth`); without it, `insecureNoAuth` must be set.
   */
  readonly authenticate?: boolean;
  /**
   * On ZooKeeper, what a leader does when its election session is over: `exit` (the process exits
   * with code 1 at once, and its election helper SIGKILLs it if it has not within a moment:
   * `galaxy master`, which stops acting even while its main thread is busy or stopped), or
   * `notify` (it stops serving when its main thread hears of it; in-process use). Default `notify`.
   */
  readonly fence?: ElectionFence;
}

/**
 * The session of a master's own reads and writes on ZooKeeper. It holds no ephemeral key (the
 * candidacy has its own session, `elect-in-helper.ts`), so it can be long, and being cut off does
 * not end it (only ZooKeeper's expiry does): a busy main thread does not end it, and a client that
 * reconnects within it goes on. Its client moves to another server in up to a third of it when a
 * server stops (the `zookeeper` package's timer, docs/operations.md).
 */
export const DATA_SESSION_MS = 30_000;

/** A contending master. */
export class MasterCandidate {
  /** Resolves with the serving master once this candidate leads. */
  readonly leading: Promise<Master>;
  /**
   * Resolves when this candidate lost its place: it led and lost leadership (it has stopped
   * serving by then), or its coordinator session ended while it stood by.
   */
  readonly lost: Promise<void>;
  private master: Master | undefined;
  private standby: ServingApi | undefined;
  private leadership: Leadership | undefined;
  private stopped = false;
  private leaderSeen = '';
  private poll?: NodeJS.Timeout;
  private markLost: () => void = () => undefined;
  /**
   * Users, join tokens and agent credentials of an authenticating master, loaded while this
   * candidate stands by and kept current by their watches: a standby that read a cell's 12,000
   * credentials only once elected led 10–20 s later (issue 16's failover).
   */
  private agentIdentities: AgentIdentityStore | undefined;
  private users: UserStore | undefined;

  private constructor(
    private readonly options: CandidateOptions,
    private readonly coordinator: Coordinator,
    private readonly log: Logger,
    /** `host:port` this candidate serves on, standby or leading. */
    readonly address: string,
    standby: ServingApi,
    /** The election helper's candidacy (ZooKeeper); other backends elect on `coordinator`. */
    private readonly candidacy?: HelperCandidacy,
  ) {
    this.standby = standby;
    this.lost = new Promise((resolve) => {
      this.markLost = resolve;
    });
    this.leading = this.contend();
    this.leading.catch(() => {
      if (!this.stopped) this.markLost();
    });
  }

  /** Starts the standby port, enters the election and opens the coordinator. */
  static async start(options: CandidateOptions): Promise<MasterCandidate> {
    const log = createLogger('master', options.logLevel);
    const holder: { candidate?: MasterCandidate } = {};
    const standby = await serveGrpc(
      'master (standby)',
      options.listen,
      (server) => {
        refuseAll(server, () => holder.candidate?.leaderSeen ?? '');
      },
      undefined,
      { limits: options.limits?.server, log, ...(options.tls ? { tls: options.tls } : {}) },
    );
    // The election helper is forked before this process opens a ZooKeeper session of its own: the
    // C client's sockets are not close-on-exec, and a copy held by the helper broke this process's
    // later connections. It contends at once; the candidate awaits it once it has loaded its users.
    const candidacy = options.coordinator.startsWith('zk:')
      ? electInHelper(options.coordinator, MASTER_GROUP, standby.address, options.fence ?? 'notify')
      : undefined;
    let coordinator: Coordinator;
    try {
      coordinator = await openCoordinator(options.coordinator, {
        sessionTimeoutMs: Math.max(DATA_SESSION_MS, urlSessionMs(options.coordinator) ?? 0),
        endsWhenCutOff: candidacy === undefined,
      });
    } catch (error) {
      await candidacy?.withdraw();
      await standby.stop();
      throw error;
    }
    holder.candidate = new MasterCandidate(options, coordinator, log, standby.address, standby, candidacy);
    return holder.candidate;
  }

  /** The master while this candidate leads. */
  get current(): Master | undefined {
    return this.master;
  }

  /** Leaves the election and stops serving. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    await this.standby?.stop();
    await this.master?.stop();
    this.agentIdentities?.close();
    this.users?.close();
    await (this.leadership?.resign() ?? this.candidacy?.withdraw())?.catch(() => undefined);
    await this.coordinator.close();
  }

  /**
   * Enters the election. On ZooKeeper the candidacy runs in a helper process with its own session
   * (the URL's `session=`), so that the main thread's busy moments do not cost it that session;
   * the end of the data session (`DATA_SESSION_MS`) ends it too. Other backends elect on the
   * coordinator itself.
   */
  private async elect(): Promise<Leadership> {
    const { candidacy } = this;
    const session = (this.coordinator as { session?: AbortSignal }).session;
    if (candidacy === undefined || session === undefined) return this.coordinator.elect(MASTER_GROUP, this.address);
    const onDataSessionEnd = (): void => {
      void candidacy.withdraw();
    };
    if (session.aborted) onDataSessionEnd();
    session.addEventListener('abort', onDataSessionEnd, { once: true });
    const leadership = await candidacy.leading;
    void leadership.lost.then(() => {
      session.removeEventListener('abort', onDataSessionEnd);
    });
    return leadership;
  }

  private async contend(): Promise<Master> {
    this.poll = setInterval(() => {
      void this.coordinator.leader(MASTER_GROUP).then(
        (leader) => {
          this.leaderSeen = leader ?? '';
        },
        () => undefined,
      );
    }, 500);
    this.poll.unref();
    this.log.info({ address: this.address, coordinator: this.coordinator.description }, 'master standing by');
    if (this.options.authenticate) {
      this.users = await UserStore.open(this.coordinator);
      this.agentIdentities = await AgentIdentityStore.open(this.coordinator);
    }
    const leadership = await this.elect();
    clearInterval(this.poll);
    this.leadership = leadership;
    if (this.stopped) throw new Error('stopped before leading');
    await this.standby?.stop();
    this.standby = undefined;
    const allocator = await loadAllocator(this.options.allocator ?? 'drf', this.options.allocatorOptions ?? {});
    const { users, agentIdentities } = this;
    const master = new Master(
      allocator,
      {
        ...this.options,
        ...(users ? { users } : {}),
        ...(agentIdentities ? { agentIdentities } : {}),
        listen: this.address,
        // The console's job routes find the AppMaster leader in this coordinator's election.
        ...(this.options.http ? { http: { appmaster: this.options.coordinator, ...this.options.http } } : {}),
        tenancyCoordinator: this.options.tenancyCoordinator ?? this.coordinator,
        registry: this.coordinator,
      },
      this.log,
    );
    await master.start();
    this.master = master;
    this.log.info({ address: this.address, master: master.ctx.masterId }, 'elected: this master leads');
    void leadership.lost.then(async () => {
      if (this.stopped) return;
      this.log.error({ address: this.address }, 'leadership lost: this master stops acting now');
      await master.stop();
      this.master = undefined;
      this.markLost();
    });
    return master;
  }
}

/** Adds the master's services to `server`, each call answered with GALAXY_E_NOT_LEADER. */
function refuseAll(server: Server, leader: () => string): void {
  const refusal = () => toGrpcStatus(notLeader('master', leader()));
  const refuse = (definition: ServiceDefinition): UntypedServiceImplementation =>
    Object.fromEntries(
      Object.entries(definition).map(([name, method]) => [
        name,
        method.responseStream
          ? (call: NodeJS.EventEmitter) => {
              call.emit('error', refusal());
            }
          : (_call: unknown, callback: (error: ReturnType<typeof refusal>) => void) => {
              callback(refusal());
            },
      ]),
    );
  server.addService(AgentGatewayService, refuse(AgentGatewayService));
  server.addService(SchedulerService, refuse(SchedulerService));
  server.addService(OperatorService, refuse(OperatorService));
  server.addService(AgentIdentityAdminService, refuse(AgentIdentityAdminService));
}
