/**
 * The master (Galaxy's ResMan): admits agents, subscribes frameworks, turns the allocator's
 * decisions into offers, routes tasks and status updates. One gRPC server carries the agent
 * gateway, the scheduler API and the operator API. What is not that core — authorization of
 * launches, the machine registry, reservations, preemption, accounting, the registry's
 * persistence, the event trace — is written as master plugins on its hooks and applied from one
 * list here, as webpack's `WebpackOptionsApply` applies webpack's own features.
 */
import { performance } from 'node:perf_hooks';
import type { Allocator } from '../allocators/allocator.js';
import { loadAllocator } from '../allocators/index.js';
import { GalaxyServer } from '../core/grpc-server.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { Offer } from '../proto/gen/galaxy/v1/common.js';
import { AgentGatewayService } from '../proto/gen/galaxy/v1/agent.js';
import { OperatorService } from '../proto/gen/galaxy/v1/operator.js';
import { SchedulerService } from '../proto/gen/galaxy/v1/scheduler.js';
import { agentGateway } from './api/agent-gateway.js';
import { AgentsController } from './agents/agents.js';
import { AllocationLoop } from './allocation-loop.js';
import { MasterContext } from './context.js';
import { FrameworksController } from './frameworks/frameworks.js';
import { createMasterHooks, type MasterHooks } from './hooks.js';
import type { MasterHost, MasterPlugin } from './plugin.js';
import { RegistryPersistence } from './registry/registry.js';
import { operatorApi } from './api/operator-api.js';
import type { MasterOptions } from './options.js';
import { DEFAULT_TIMINGS } from './timings.js';
import { addResources } from '../core/resources.js';
import { eventTracePlugin } from './plugins/event-trace.js';
import { heldVolumesPlugin, offerHeldVolumes } from './volumes/held-volumes.js';
import { heldResources } from '../core/held-volumes.js';
import { schedulerApi } from './api/scheduler-api.js';
import { MasterView } from './view.js';
import { UsageCollector } from './accounting/usage.js';
import { LogProxy } from './logs/log-proxy.js';
import { logsApi } from './api/logs-api.js';
import { LogReader } from './logs/log-reader.js';
import { LogsService } from '../proto/gen/galaxy/v1/logs.js';
import { TaskWatchService } from '../proto/gen/galaxy/v1/watch.js';
import { taskWatchApi } from './api/task-watch-api.js';
import type { Principal } from '../core/auth/principal.js';
import { UserAdminService } from '../proto/gen/galaxy/v1/users.js';
import { userAdminApi } from './api/user-admin-api.js';
import { Accounting } from './accounting/accounting.js';
import { Machines } from './tenancy/machines.js';
import { machinesOperatorApi } from './api/machines-api.js';
import { eventsOperatorApi } from './events/api.js';
import { PassTimings, statsOperatorApi } from './stats.js';
import { MasterMetrics } from './metrics.js';
import { eventRecorderPlugin } from './events/recorder.js';
import { EventPersistence } from './events/persistence.js';
import type { EventLog } from './events/log.js';
import { Preemptor } from './preemption/preemptor.js';
import { tenancyOperatorApi } from './api/tenancy-api.js';
import { MasterAuthorization } from './tenancy/authorization.js';
import { ReservationBook } from './tenancy/reservations.js';
import { reservationApi } from './api/reservation-api.js';
import { anyOf } from '../core/auth/principal.js';
import { AgentIdentityAdminService } from '../proto/gen/galaxy/v1/agent_identity.js';
import { agentIdentityApi } from './api/agent-identity-api.js';
import type { RoleAllocation } from './frameworks/role-clients.js';
import { masterLimits } from './limits.js';
import { GalaxyError } from '../core/errors.js';
import { tlsEnabled } from '../core/tls.js';
import type { ServerAuth } from '../core/auth/server.js';
import type { OperatorServer } from '../proto/gen/galaxy/v1/operator.js';
import { serveMasterHttp, type ServingHttp } from './http/api.js';
import { logEventFeed } from './http/event-feed.js';
import { revocableOffers } from './revocable/revocable-offers.js';

/** A running master. */
export class Master implements MasterHost {
  /** The master's extension points. */
  readonly hooks: MasterHooks;
  readonly ctx: MasterContext;
  readonly agents: AgentsController;
  readonly frameworks: FrameworksController;
  readonly view: MasterView;
  /** Gathers task usage from agents. */
  readonly usage: UsageCollector;
  /** Reads task output from agents for `galaxy logs`. */
  readonly logs: LogProxy;
  /** Reads task output for callers (the Logs service and the HTTP API). */
  private readonly logReader: LogReader;
  /** Pools, labels and modes of agents. */
  readonly machines: Machines;
  /** The ledger of resource-seconds per user and pool. */
  readonly accounting: Accounting;
  /** How long the newest allocation passes took (GetMasterStats). */
  readonly passes = new PassTimings();
  /** The master's Prometheus metrics (`metrics.ts`): `--metrics-listen`, and `/metrics` on its HTTP port. */
  readonly metrics: MasterMetrics;
  /** PREEMPT: victims, set-asides, rate limit. */
  readonly preemptor: Preemptor;
  /** Dynamic reservations (galaxy reserve/unreserve), re-applied when agents register. */
  readonly reservations: ReservationBook;
  private readonly server: GalaxyServer;
  /** Serving without authentication (insecureNoAuth). */
  private readonly open: boolean;
  private readonly loop: AllocationLoop;
  private boundAddress = '';
  /** The names of the plugins applied, in order (logged at start). */
  private readonly pluginNames: readonly string[];
  private sweepTimer?: NodeJS.Timeout;
  /** How the gRPC server authenticates (the HTTP API authenticates the same way). */
  private readonly auth: ServerAuth | undefined;
  /** The Operator service's handlers (the HTTP API calls them as its callers). */
  private readonly operator: OperatorServer;
  private http: ServingHttp | undefined;

  constructor(
    readonly allocator: Allocator,
    private readonly options: MasterOptions,
    readonly log: Logger,
  ) {
    this.hooks = createMasterHooks();
    const limits = masterLimits(options.limits);
    // With an authenticator every call needs a valid bearer token (a user's, or an agent's join
    // token or credential); with a user store, admins manage users here.
    const authenticate = anyOf(
      options.auth?.authenticate ?? options.users?.authenticate,
      options.agentIdentities?.authenticate,
    );
    if (!authenticate && options.insecureNoAuth !== true)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        'a master authenticates its callers: give it users (or auth), or set insecureNoAuth to run it open on purpose',
      );
    this.open = authenticate === undefined;
    this.auth = authenticate ? { ...options.auth, authenticate } : undefined;
    this.server = new GalaxyServer('master', {
      ...(this.auth ? { auth: this.auth } : {}),
      limits: limits.server,
      log,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    if (options.users) this.server.grpc.addService(UserAdminService, userAdminApi(options.users));
    if (options.agentIdentities)
      this.server.grpc.addService(AgentIdentityAdminService, agentIdentityApi(options.agentIdentities));
    const timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.loop = new AllocationLoop(() => {
      this.allocate();
    }, timings.allocationIntervalMs);
    this.ctx = new MasterContext(allocator, this.hooks, log, timings, this.loop, limits);
    this.preemptor = new Preemptor(this.ctx);
    this.reservations = new ReservationBook(this.ctx);
    const users = options.users;
    const authorization = new MasterAuthorization({
      // Pool authorities apply to frameworks only when callers are authenticated and grants are stored.
      ...(authenticate && options.tenancyCoordinator ? { coordinator: options.tenancyCoordinator } : {}),
      poolOf: (agentId) => this.ctx.agents.get(agentId)?.info.pool,
      ...(users ? { userOf: (name: string) => users.known(name) } : {}),
    });
    this.frameworks = new FrameworksController(this.ctx, authorization, this.preemptor);
    this.agents = new AgentsController(this.ctx, this.frameworks);
    this.machines = new Machines(this.ctx, (agent) => this.agents.usedByClient(agent));
    this.view = new MasterView(this.ctx, this.machines);
    this.metrics = new MasterMetrics(this.machines);
    this.usage = new UsageCollector(this.ctx);
    this.accounting = new Accounting(this.ctx, this.usage, options.accounting, (task) => {
      const owner = this.ctx.frameworks.get(task.frameworkId)?.owner;
      return owner ? authorization.actingUser(owner, task.role) : undefined;
    });
    // Galaxy's own behaviour as plugins, then the operator's (`--plugin`), applied in this order:
    // taps of one hook run in it (the machines set an agent's pool before the trace logs it).
    const plugins: MasterPlugin[] = [
      authorization,
      this.preemptor,
      this.reservations,
      this.machines,
      heldVolumesPlugin(),
      eventTracePlugin(log),
      eventRecorderPlugin(this.ctx.events, (owner, role) => authorization.actingUser(owner, role)),
      this.accounting,
      this.metrics,
      ...(options.registry ? [new RegistryPersistence(options.registry, this)] : []),
      ...(options.registry ? [new EventPersistence(options.registry)] : []),
      ...(options.plugins ?? []),
    ];
    for (const plugin of plugins) plugin.apply(this);
    this.pluginNames = plugins.map((p) => p.name);
    // A peer that stops reading its stream is dropped: its connection ends at once (see streams.ts).
    const streams = { ctx: this.ctx, disconnect: (peer: string) => this.server.disconnect(peer) };
    this.logs = new LogProxy(this.ctx);
    this.server.grpc.addService(
      AgentGatewayService,
      agentGateway(this.agents, this.usage, log, streams, options.agentIdentities, this.logs),
    );
    const visibleTo = (caller: Principal) =>
      authorization.taskFilter(caller, (id) => this.ctx.frameworks.get(id)?.owner);
    // galaxy tasks --watch: what ListTasks answers the caller, pushed when a task changes.
    this.server.grpc.addService(TaskWatchService, taskWatchApi(this.hooks, this.view, visibleTo));
    // Task output: for the callers who may list the task (docs/security.md, "Logs").
    this.logReader = new LogReader(this.ctx, this.logs, visibleTo);
    this.server.grpc.addService(LogsService, logsApi(this.logReader));
    // A revoked or replaced credential ends its agent's connection at once.
    options.agentIdentities?.onCredentialReplaced((agentId) => {
      this.agents.credentialRevoked(agentId);
    });
    this.server.grpc.addService(SchedulerService, schedulerApi(this.frameworks, streams));
    this.operator = {
      ...operatorApi(
        this.view,
        allocator,
        this.usage,
        this.hooks,
        authorization,
        (id) => this.ctx.frameworks.get(id)?.owner,
      ),
      ...machinesOperatorApi(this.machines, this.accounting),
      ...eventsOperatorApi(this.ctx.events, (id) => this.ctx.frameworks.get(id)?.owner, streams),
      ...statsOperatorApi(this.ctx, this.passes),
      ...tenancyOperatorApi(options.tenancyCoordinator),
      ...reservationApi(this.reservations),
    };
    this.server.grpc.addService(OperatorService, this.operator);
  }

  /** The HTTP API's and console's URL (`http://host:port/`), when it serves one. */
  get httpUrl(): string | undefined {
    return this.http?.url;
  }

  /** The cluster's event log (`galaxy events`; the console's event stream). */
  get events(): EventLog {
    return this.ctx.events;
  }

  /** `host:port` the master listens on. */
  get address(): string {
    return this.boundAddress;
  }

  /** Binds the gRPC server and starts allocating. */
  async start(): Promise<void> {
    await this.hooks.starting.promise();
    this.boundAddress = await this.server.listen(this.options.listen);
    if (this.options.http)
      this.http = await serveMasterHttp(
        this.operator,
        {
          // Its metrics on its API port, as Mesos and Nomad serve theirs (with a token: they name roles).
          metrics: async () => ({
            contentType: this.metrics.registry.contentType,
            body: await this.metrics.registry.metrics(),
          }),
          ...this.options.http,
        },
        {
          ...(this.auth ? { auth: this.auth } : {}),
          ...(this.options.tls ? { tls: this.options.tls } : {}),
          log: this.log,
          events: (caller) => logEventFeed(this.ctx.events, (id) => this.ctx.frameworks.get(id)?.owner, caller),
          logs: (caller, request, sink) => this.logReader.start(caller, request, sink),
        },
      ).catch(async (error: unknown) => {
        await this.server.stop();
        throw error;
      });
    this.loop.start();
    this.hooks.started.call();
    this.sweepTimer = setInterval(
      () => {
        this.ctx.sweepRecords();
      },
      Math.min(60_000, this.ctx.limits.recordRetentionMs),
    );
    this.sweepTimer.unref();
    this.log.info(
      {
        address: this.boundAddress,
        allocator: this.allocator.name,
        master: this.ctx.masterId,
        tls: tlsEnabled(this.options.tls),
        authenticates: !this.open,
        ...(this.http ? { http: this.http.url } : {}),
        plugins: this.pluginNames,
      },
      'master started',
    );
    if (this.open)
      this.log.warn({ address: this.boundAddress }, 'this master authenticates no one: every caller is an admin');
  }

  /** Runs one allocation pass now and sends the offers. */
  allocate(): void {
    const started = performance.now();
    const timer = this.metrics.allocationSeconds.startTimer();
    const byFramework = new Map<string, Offer[]>();
    for (const allocation of this.ctx.clients.allocate()) {
      const offer = this.toOffer(allocation);
      if (!offer) {
        this.ctx.clients.recover(allocation.frameworkId, allocation.role, allocation.agentId, allocation.resources);
        continue;
      }
      this.ctx.offers.add(offer);
      const list = byFramework.get(offer.frameworkId) ?? [];
      list.push(offer);
      byFramework.set(offer.frameworkId, list);
    }
    for (const offer of revocableOffers(this.ctx, (allocation) => this.toOffer(allocation))) {
      const list = byFramework.get(offer.frameworkId) ?? [];
      list.push(offer);
      byFramework.set(offer.frameworkId, list);
    }
    for (const [frameworkId, offers] of byFramework) {
      this.ctx.sendEvent(frameworkId, { event: { $case: 'offers', offers: { offers } } });
      const framework = this.ctx.frameworks.get(frameworkId);
      if (framework) this.hooks.offersSent.call(framework, offers);
    }
    this.passes.add(performance.now() - started);
    timer();
  }

  /** Stops serving: closes every stream and timer. Agents keep their tasks. */
  async stop(): Promise<void> {
    this.hooks.stopping.call();
    // A clean stop keeps every event (a crash loses at most the last flush interval's).
    await this.ctx.events.close();
    this.loop.stop();
    clearInterval(this.sweepTimer);
    this.ctx.offers.clear();
    this.ctx.masterUpdates.stop();
    this.agents.stop();
    for (const agent of this.ctx.agents.values()) {
      clearTimeout(agent.removalTimer);
      agent.connection?.close();
    }
    for (const framework of this.ctx.frameworks.values()) {
      clearInterval(framework.heartbeatTimer);
      clearTimeout(framework.failoverTimer);
      framework.connection?.close();
    }
    await this.http?.stop();
    await this.server.stop();
  }

  private toOffer(allocation: RoleAllocation & { readonly revocable?: boolean }): Offer | undefined {
    const framework = this.ctx.frameworks.get(allocation.frameworkId);
    const agent = this.ctx.agents.get(allocation.agentId);
    if (!framework?.connection || !agent?.active) return undefined;
    // Bytes held for the framework's kept volumes go in its offer, marked (docs/disks.md, "Held volumes").
    const held = allocation.revocable === true ? [] : offerHeldVolumes(this.ctx, allocation);
    return {
      id: this.ctx.offerIds.next(),
      frameworkId: allocation.frameworkId,
      agentId: allocation.agentId,
      hostname: agent.info.hostname,
      resources:
        held.length > 0
          ? addResources(allocation.resources, heldResources(held, agent.info.total))
          : allocation.resources,
      attributes: agent.info.attributes,
      pool: agent.info.pool,
      allowedHostPaths: agent.info.allowedHostPaths,
      heldVolumes: held,
      ...(allocation.reservedRole === undefined ? {} : { reservedRole: allocation.reservedRole }),
      allocationRole: allocation.role,
      ...(allocation.revocable === true ? { revocable: true } : {}),
    };
  }
}

/** Loads the allocator, creates a master and starts it. */
export async function startMaster(options: MasterOptions): Promise<Master> {
  const log = createLogger('master', options.logLevel);
  const allocator = await loadAllocator(options.allocator ?? 'drf', options.allocatorOptions ?? {});
  const master = new Master(allocator, options, log);
  await master.start();
  return master;
}
