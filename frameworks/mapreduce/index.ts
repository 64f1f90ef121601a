/**
 * The `mapreduce` framework plugin: word count over an input directory, with the intermediate
 * files shuffled between agents over the network; hosted by `galaxy framework run mapreduce`.
 *
 * Options:
 * - `listen=<host:port>`: its API (default 127.0.0.1:5053);
 * - `advertise=<host:port>`: where clients reach the API, when not at the listen address;
 * - `coordinator=<url>`: where jobs and grants live, and where MapReduce frameworks elect their
 *   leader (the others stand by, answering GALAXY_E_NOT_LEADER; the next leader fails over with
 *   the same framework id and goes on with every job). Without it jobs live in memory only, and
 *   every caller may do everything.
 */
import type { FrameworkPlugin } from '../host/plugin.js';
import { FRAMEWORK_API_VERSION } from '../host/plugin.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { MAPREDUCE_GROUP } from '../../core/leader-locator.js';
import { FrameworkLeadership } from '../sdk/leadership.js';
import { RecordStore } from '../sdk/records.js';
import { JobTenancy } from '../sdk/tenancy.js';
import { serveMapReduceApi } from './api.js';
import { MAPREDUCE_JOBS_PREFIX, MapReduceScheduler } from './scheduler.js';

export { MapReduceScheduler } from './scheduler.js';

/** Where the MapReduce framework keeps the framework id of its last leader, to fail over to it. */
export const FRAMEWORK_ID_KEY = '/galaxy/mapreduce/framework-id';

/** The plugin. */
const plugin: FrameworkPlugin = {
  name: 'mapreduce',
  version: FRAMEWORK_API_VERSION,
  galaxyApi: '^1',
  create(context) {
    const { log, options } = context;
    let coordinator: Coordinator | undefined;
    let api: ServingApi | undefined;
    let scheduler: MapReduceScheduler | undefined;
    let leadership: FrameworkLeadership | undefined;
    let id: string | undefined;
    let markLost: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => {
      markLost = resolve;
    });
    const prepared = (): MapReduceScheduler => {
      if (!scheduler) throw new Error('the mapreduce framework is not prepared');
      return scheduler;
    };
    return {
      // Subscribed with the roles of its live jobs' owners (read after prepare() recovered them).
      get info() {
        return {
          name: 'mapreduce',
          role: options.role ?? 'batch',
          roles: scheduler?.roles.roles() ?? [],
          failoverTimeoutS: 600,
          id,
        };
      },
      get scheduler() {
        return prepared();
      },
      get endpoint() {
        return api?.address;
      },
      lost,
      async prepare() {
        coordinator = options.coordinator === undefined ? undefined : await openCoordinator(options.coordinator);
        const fenced = (): void => leadership?.depose('another leader wrote its records');
        const jobs = new MapReduceScheduler(log, new RecordStore(coordinator, MAPREDUCE_JOBS_PREFIX, log, fenced));
        scheduler = jobs;
        if (coordinator) jobs.useTenancy(new JobTenancy(coordinator, 'mapreduce'));
        api = await serveMapReduceApi(jobs, options.listen ?? '127.0.0.1:5053', context.auth, context.tls, () =>
          leadership ? leadership.standby() : '',
        );
        leadership = new FrameworkLeadership(
          coordinator,
          MAPREDUCE_GROUP,
          options.advertise ?? api.address,
          log,
          'mapreduce framework',
        );
        // A standby names the leader from its first answer on.
        await leadership.follow();
        log.info({ api: api.address }, 'mapreduce API listening');
        console.log(`mapreduce API listening on ${api.address}`);
        await leadership.lead();
        id = await leadership.frameworkId(FRAMEWORK_ID_KEY);
        await jobs.recover();
        leadership.serve();
        void leadership.lost.then(async () => {
          await jobs.detach();
          markLost();
        });
      },
      async start(driver) {
        prepared().attach(driver);
        await leadership?.rememberFrameworkId(FRAMEWORK_ID_KEY, driver.frameworkId);
        id = driver.frameworkId;
      },
      async stop() {
        await scheduler?.detach();
        await api?.stop();
        await leadership?.stop();
        await coordinator?.close();
      },
    };
  },
};

export default plugin;
