/**
 * The `mapreduce` framework plugin: word count over an input directory, with the intermediate
 * files shuffled between agents over the network; hosted by `galaxy framework run mapreduce`. The
 * shell it shares with batch (coordinator, election, failover, API start) is
 * `../sdk/job-framework.ts`.
 *
 * Options:
 * - `listen=<host:port>`: its API (default 127.0.0.1:5053);
 * - `advertise=<host:port>`: where clients reach the API, when not at the listen address;
 * - `coordinator=<url>`: where jobs and grants live, and where MapReduce frameworks elect their
 *   leader (the others stand by, answering GALAXY_E_NOT_LEADER; the next leader fails over with
 *   the same framework id and goes on with every job). Without it jobs live in memory only, and
 *   every caller may do everything.
 */
import { MAPREDUCE_GROUP } from '../../core/leader-locator.js';
import { jobFrameworkPlugin } from '../sdk/job-framework.js';
import { serveMapReduceApi } from './api.js';
import { MAPREDUCE_JOBS_PREFIX, MapReduceScheduler } from './scheduler.js';

export { MapReduceScheduler } from './scheduler.js';

/** Where the MapReduce framework keeps the framework id of its last leader, to fail over to it. */
export const FRAMEWORK_ID_KEY = '/galaxy/mapreduce/framework-id';

/** The plugin. */
export default jobFrameworkPlugin({
  name: 'mapreduce',
  group: MAPREDUCE_GROUP,
  frameworkIdKey: FRAMEWORK_ID_KEY,
  defaultListen: '127.0.0.1:5053',
  defaultRole: 'batch',
  failoverTimeoutS: 600,
  build({ context, tenancy, records }) {
    const jobs = new MapReduceScheduler(context.log, records(MAPREDUCE_JOBS_PREFIX));
    if (tenancy) jobs.useTenancy(tenancy);
    return {
      scheduler: jobs,
      serve: (listen, standby) => serveMapReduceApi(jobs, listen, context.auth, context.tls, standby),
      recover: () => jobs.recover(),
      attach(driver) {
        jobs.attach(driver);
      },
      detach: () => jobs.detach(),
    };
  },
});
