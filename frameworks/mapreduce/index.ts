/**
 * The `mapreduce` framework plugin: word count over an input directory, with the intermediate
 * files shuffled between agents over the network; hosted by `galaxy framework run mapreduce`.
 * Options: `listen=<host:port>` for its API (default 127.0.0.1:5053); `coordinator=<url>`: where
 * grants live (without it every caller may do everything).
 */
import type { FrameworkPlugin } from '../host/plugin.js';
import { FRAMEWORK_API_VERSION } from '../host/plugin.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { JobTenancy } from '../sdk/tenancy.js';
import { serveMapReduceApi } from './api.js';
import { MapReduceScheduler } from './scheduler.js';

export { MapReduceScheduler } from './scheduler.js';

/** The plugin. */
const plugin: FrameworkPlugin = {
  name: 'mapreduce',
  version: FRAMEWORK_API_VERSION,
  galaxyApi: '^1',
  create(context) {
    const scheduler = new MapReduceScheduler(context.log);
    let stopApi: (() => Promise<void>) | undefined;
    let endpoint: string | undefined;
    let coordinator: Coordinator | undefined;
    return {
      // Subscribed with the roles of its jobs' owners (none before the first job: its own role).
      get info() {
        return {
          name: 'mapreduce',
          role: context.options.role ?? 'batch',
          roles: scheduler.roles.roles(),
          failoverTimeoutS: 600,
        };
      },
      scheduler,
      get endpoint() {
        return endpoint;
      },
      async prepare() {
        if (context.options.coordinator === undefined) return;
        coordinator = await openCoordinator(context.options.coordinator);
        scheduler.useTenancy(new JobTenancy(coordinator, 'mapreduce'));
      },
      async start(driver) {
        scheduler.attach(driver);
        const api = await serveMapReduceApi(
          scheduler,
          context.options.listen ?? '127.0.0.1:5053',
          context.auth,
          context.tls,
        );
        stopApi = () => api.stop();
        endpoint = api.address;
        context.log.info({ api: api.address }, 'mapreduce API listening');
        console.log(`mapreduce API listening on ${api.address}`);
      },
      async stop() {
        scheduler.detach();
        await stopApi?.();
        await coordinator?.close();
      },
    };
  },
};

export default plugin;
