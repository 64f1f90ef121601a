/**
 * The `batch` framework plugin: run-to-completion jobs and cron jobs, hosted by
 * `galaxy framework run batch` and started by `galaxy up`.
 *
 * Options:
 * - `listen=<host:port>`: its API (default 127.0.0.1:5052);
 * - `advertise=<host:port>`: where clients reach the API, when not at the listen address (what a
 *   standby names as the leader);
 * - `coordinator=<url>`: where jobs, cron jobs, grants, quotas and claims live, and where batch
 *   frameworks elect their leader: the others stand by (their API answers GALAXY_E_NOT_LEADER,
 *   naming the leader) and the next leader fails over with the same framework id. Without it jobs
 *   live in memory only, and every caller may do everything, unmetered;
 * - `retention=<seconds>`: how long a finished job (not a cron run) is kept (default an hour; a
 *   thousand finished jobs at most, `limits.ts`).
 */
import type { FrameworkPlugin } from '../host/plugin.js';
import { FRAMEWORK_API_VERSION } from '../host/plugin.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { BATCH_GROUP } from '../../core/leader-locator.js';
import { UserStore } from '../../core/tenancy/users.js';
import { GalaxyError } from '../../core/errors.js';
import { FrameworkLeadership } from '../sdk/leadership.js';
import { RecordStore } from '../sdk/records.js';
import { JobTenancy } from '../sdk/tenancy.js';
import { serveBatchApi } from './api.js';
import { CRONS_PREFIX, CronRunner } from './cron/runner.js';
import { DEFAULT_BATCH_LIMITS, type BatchLimits } from './limits.js';
import { BatchScheduler, JOBS_PREFIX } from './scheduler.js';

export { BatchScheduler } from './scheduler.js';

/** Where the batch framework keeps the framework id of its last leader, to fail over to it. */
export const FRAMEWORK_ID_KEY = '/galaxy/batch/framework-id';

/** The limits, with `retention=<seconds>` as the finished jobs' retention. */
function limitsOf(value: string | undefined): BatchLimits {
  if (value === undefined) return DEFAULT_BATCH_LIMITS;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--option retention= takes seconds, got "${value}"`);
  return { ...DEFAULT_BATCH_LIMITS, finishedRetentionMs: seconds * 1000 };
}

/** The plugin. */
const plugin: FrameworkPlugin = {
  name: 'batch',
  version: FRAMEWORK_API_VERSION,
  galaxyApi: '^1',
  create(context) {
    const { log, options } = context;
    let coordinator: Coordinator | undefined;
    let users: UserStore | undefined;
    let api: ServingApi | undefined;
    let scheduler: BatchScheduler | undefined;
    let crons: CronRunner | undefined;
    let leadership: FrameworkLeadership | undefined;
    let id: string | undefined;
    let markLost: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => {
      markLost = resolve;
    });
    const prepared = (): BatchScheduler => {
      if (!scheduler) throw new Error('the batch framework is not prepared');
      return scheduler;
    };
    return {
      // Subscribed with the roles of its live jobs' owners (read after prepare() recovered them).
      get info() {
        return {
          name: 'batch',
          role: options.role ?? 'batch',
          roles: scheduler?.roles.roles() ?? [],
          failoverTimeoutS: 600,
          id,
          // Updates are acknowledged once their effect is stored (see scheduler.ts).
          autoAcknowledge: false,
        };
      },
      get scheduler() {
        return prepared();
      },
      get endpoint() {
        return api?.address;
      },
      get metrics() {
        return scheduler?.metrics.registry;
      },
      lost,
      async prepare() {
        coordinator = options.coordinator === undefined ? undefined : await openCoordinator(options.coordinator);
        // A write that finds a record written by someone else means a newer leader acts: stop.
        const fenced = (): void => leadership?.depose('another leader wrote its records');
        const jobs = new BatchScheduler(log, {
          store: new RecordStore(coordinator, JOBS_PREFIX, log, fenced),
          limits: limitsOf(options.retention),
        });
        scheduler = jobs;
        const tenancy = coordinator && new JobTenancy(coordinator, 'batch');
        if (tenancy) jobs.useTenancy(tenancy);
        if (coordinator) users = await UserStore.open(coordinator);
        const known = users;
        crons = new CronRunner({
          jobs,
          log,
          store: new RecordStore(coordinator, CRONS_PREFIX, log, fenced),
          ...(tenancy ? { tenancy } : {}),
          ...(known ? { principalOf: (user: string) => known.known(user) } : {}),
        });
        const runner = crons;
        jobs.onTick = (now) => {
          runner.tick(now);
        };
        api = await serveBatchApi(
          { scheduler: jobs, crons: runner, standby: () => (leadership ? leadership.standby() : '') },
          options.listen ?? '127.0.0.1:5052',
          context.auth,
          context.tls,
        );
        const address = options.advertise ?? api.address;
        leadership = new FrameworkLeadership(coordinator, BATCH_GROUP, address, log, 'batch framework');
        // A standby names the leader from its first answer on.
        await leadership.follow();
        log.info({ api: api.address }, 'batch API listening');
        console.log(`batch API listening on ${api.address}`);
        await leadership.lead();
        id = await leadership.frameworkId(FRAMEWORK_ID_KEY);
        await jobs.recover();
        await runner.recover();
        leadership.serve();
        void leadership.lost.then(async () => {
          await jobs.detach();
          await runner.detach();
          markLost();
        });
      },
      async start(driver) {
        prepared().attach(driver);
        crons?.attach();
        await leadership?.rememberFrameworkId(FRAMEWORK_ID_KEY, driver.frameworkId);
        id = driver.frameworkId;
      },
      async stop() {
        await scheduler?.detach();
        await crons?.detach();
        await api?.stop();
        await leadership?.stop();
        users?.close();
        await coordinator?.close();
      },
    };
  },
};

export default plugin;
