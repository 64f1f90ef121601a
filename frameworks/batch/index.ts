/**
 * The `batch` framework plugin: run-to-completion jobs and cron jobs, hosted by
 * `galaxy framework run batch` and started by `galaxy up`. The shell it shares with MapReduce
 * (coordinator, election, failover, API start) is `../sdk/job-framework.ts`.
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
import { BATCH_GROUP } from '../../core/leader-locator.js';
import { UserStore } from '../../core/tenancy/users.js';
import { GalaxyError } from '../../core/errors.js';
import { FrameworkCapability } from '../../proto/gen/galaxy/v1/common.js';
import { jobFrameworkPlugin } from '../sdk/job-framework.js';
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
export default jobFrameworkPlugin({
  name: 'batch',
  group: BATCH_GROUP,
  frameworkIdKey: FRAMEWORK_ID_KEY,
  defaultListen: '127.0.0.1:5052',
  defaultRole: 'batch',
  failoverTimeoutS: 600,
  // It takes revocable offers: its tasks may run on reclaimed capacity and are retried, without
  // using a retry, when evicted (docs/resources.md). `--option revocable=false` turns it off.
  capabilities: [FrameworkCapability.REVOCABLE_RESOURCES],
  // Updates are acknowledged once their effect is stored (see scheduler.ts).
  autoAcknowledge: false,
  async build({ context, coordinator, tenancy, records }) {
    const { log, options } = context;
    const jobs = new BatchScheduler(log, { store: records(JOBS_PREFIX), limits: limitsOf(options.retention) });
    if (tenancy) jobs.useTenancy(tenancy);
    const users = coordinator && (await UserStore.open(coordinator));
    const crons = new CronRunner({
      jobs,
      log,
      store: records(CRONS_PREFIX),
      ...(tenancy ? { tenancy } : {}),
      ...(users ? { principalOf: (user: string) => users.known(user) } : {}),
    });
    jobs.onTick = (now) => {
      crons.tick(now);
    };
    return {
      scheduler: jobs,
      metrics: jobs.metrics.registry,
      serve: (listen, standby) => serveBatchApi({ scheduler: jobs, crons, standby }, listen, context.auth, context.tls),
      async recover() {
        await jobs.recover();
        await crons.recover();
      },
      attach(driver) {
        jobs.attach(driver);
        crons.attach();
      },
      async detach() {
        await jobs.detach();
        await crons.detach();
      },
      close() {
        users?.close();
      },
    };
  },
});
