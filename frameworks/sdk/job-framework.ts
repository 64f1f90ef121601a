/**
 * The shell of a job framework with standbys (batch, MapReduce): what every such framework plugin
 * does the same way, so that a plugin is its specifics only. The shell opens the coordinator,
 * fences the framework's records (a write that finds another leader's record deposes this one),
 * starts the API, stands by until elected (the API names the leader meanwhile), fails over with the
 * last leader's framework id, recovers the stored jobs, and detaches when leadership is lost.
 * Without a coordinator it leads at once and keeps jobs in memory only.
 *
 * The plugin gives {@link JobFrameworkDefinition.build}: its scheduler, its API and how its parts
 * recover, attach and detach.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import type { ServingApi } from '../../core/grpc-server.js';
import type { Registry } from 'prom-client';
import type { FrameworkContext, FrameworkPlugin } from '../host/plugin.js';
import { FRAMEWORK_API_VERSION } from '../host/plugin.js';
import type { SchedulerDriver } from './driver.js';
import { FrameworkLeadership } from './leadership.js';
import { RecordStore } from './records.js';
import type { Scheduler } from './scheduler.js';
import { JobTenancy } from './tenancy.js';
import { FrameworkCapability } from '../../proto/gen/galaxy/v1/common.js';

/** What the shell gives a framework's {@link JobFrameworkDefinition.build}. */
export interface JobFrameworkSetup {
  readonly context: FrameworkContext;
  /** The coordinator of `coordinator=<url>`; none: jobs live in memory only. */
  readonly coordinator?: Coordinator;
  /** The tenancy checks (claims keyed by the framework's name); none without a coordinator. */
  readonly tenancy?: JobTenancy;
  /** A store of records under `prefix`, fenced: a write finding another leader's record deposes this one. */
  readonly records: (prefix: string) => RecordStore;
}

/** The parts that are a job framework's own. */
export interface JobFrameworkParts {
  /** What the host drives; its owners' roles are the roles the framework subscribes with. */
  readonly scheduler: Scheduler & { readonly roles: { roles(): string[] } };
  /** Its Prometheus metrics, served with the host's (`--metrics-listen`). */
  readonly metrics?: Registry;
  /**
   * Starts the framework's API. `standby` answers the leader's address while this one stands by
   * ('' while none is elected), undefined once it leads.
   */
  serve(listen: string, standby: () => string | undefined): Promise<ServingApi>;
  /** Once elected: load the stored state (jobs, cron jobs). */
  recover(): Promise<void>;
  /** Once subscribed: start acting through the driver. */
  attach(driver: SchedulerDriver): void;
  /** Stop acting (leadership lost, or the host stops); must be safe to call twice. */
  detach(): Promise<void>;
  /** After the API and the election stopped: release what {@link JobFrameworkDefinition.build} opened. */
  close?(): void;
}

/** A job framework's specifics: what the shell needs to know to host it. */
export interface JobFrameworkDefinition {
  /** The plugin's name; also its tenancy claims' prefix and its name in log lines. */
  readonly name: string;
  /** Its election group in the coordinator (`core/leader-locator.ts`). */
  readonly group: string;
  /** Where its last leader's framework id is kept, to fail over to it. */
  readonly frameworkIdKey: string;
  /** The API's address without `listen=`. */
  readonly defaultListen: string;
  /** The role without `role=`. */
  readonly defaultRole: string;
  /** How long its tasks survive its absence. */
  readonly failoverTimeoutS: number;
  /** Capabilities it subscribes with (REVOCABLE_RESOURCES: it takes revocable offers). */
  readonly capabilities?: readonly FrameworkCapability[];
  /** False: the framework acknowledges status updates itself, once their effect is stored. */
  readonly autoAcknowledge?: boolean;
  /** Builds the framework's own parts, before its API starts and before it is elected. */
  build(setup: JobFrameworkSetup): Promise<JobFrameworkParts> | JobFrameworkParts;
}

/** The framework plugin of a job framework: the shell around `definition`. */
export function jobFrameworkPlugin(definition: JobFrameworkDefinition): FrameworkPlugin {
  const { name } = definition;
  return {
    kind: 'framework',
    name,
    version: FRAMEWORK_API_VERSION,
    galaxyApi: '^1',
    create(context) {
      const { log, options } = context;
      let coordinator: Coordinator | undefined;
      let api: ServingApi | undefined;
      let parts: JobFrameworkParts | undefined;
      let leadership: FrameworkLeadership | undefined;
      let id: string | undefined;
      let markLost: () => void = () => undefined;
      const lost = new Promise<void>((resolve) => {
        markLost = resolve;
      });
      const prepared = (): JobFrameworkParts => {
        if (!parts) throw new Error(`the ${name} framework is not prepared`);
        return parts;
      };
      return {
        // Subscribed with the roles of its live jobs' owners (read after prepare() recovered them).
        get info() {
          return {
            name,
            role: options.role ?? definition.defaultRole,
            roles: parts?.scheduler.roles.roles() ?? [],
            failoverTimeoutS: definition.failoverTimeoutS,
            // `--option revocable=false`: no revocable offers (the capability is not named).
            ...(definition.capabilities
              ? {
                  capabilities: definition.capabilities.filter(
                    (c) => options.revocable !== 'false' || c !== FrameworkCapability.REVOCABLE_RESOURCES,
                  ),
                }
              : {}),
            id,
            ...(definition.autoAcknowledge === undefined ? {} : { autoAcknowledge: definition.autoAcknowledge }),
          };
        },
        get scheduler() {
          return prepared().scheduler;
        },
        get endpoint() {
          return api?.address;
        },
        get metrics() {
          return parts?.metrics;
        },
        lost,
        async prepare() {
          coordinator = options.coordinator === undefined ? undefined : await openCoordinator(options.coordinator);
          // A write that finds a record written by someone else means a newer leader acts: stop.
          const fenced = (): void => leadership?.depose('another leader wrote its records');
          const own = await definition.build({
            context,
            ...(coordinator ? { coordinator, tenancy: new JobTenancy(coordinator, name) } : {}),
            records: (prefix) => new RecordStore(coordinator, prefix, log, fenced),
          });
          parts = own;
          api = await own.serve(options.listen ?? definition.defaultListen, () =>
            leadership ? leadership.standby() : '',
          );
          const address = options.advertise ?? api.address;
          const candidate = new FrameworkLeadership(coordinator, definition.group, address, log, `${name} framework`);
          leadership = candidate;
          // A standby names the leader from its first answer on.
          await candidate.follow();
          log.info({ api: api.address }, `${name} API listening`);
          console.log(`${name} API listening on ${api.address}`);
          await candidate.lead();
          id = await candidate.frameworkId(definition.frameworkIdKey);
          await own.recover();
          candidate.serve();
          void candidate.lost.then(async () => {
            await own.detach();
            markLost();
          });
        },
        async start(driver) {
          prepared().attach(driver);
          await leadership?.rememberFrameworkId(definition.frameworkIdKey, driver.frameworkId);
          id = driver.frameworkId;
        },
        async stop() {
          await parts?.detach();
          await api?.stop();
          await leadership?.stop();
          parts?.close?.();
          await coordinator?.close();
        },
      };
    },
  };
}
