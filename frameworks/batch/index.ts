/**
 * The `batch` framework plugin: run-to-completion jobs, hosted by `galaxy framework run batch`.
 * Options: `listen=<host:port>` for its API (default 127.0.0.1:5052); `coordinator=<url>`: where
 * grants, quotas and claims live (without it every caller may do everything, unmetered).
 */
import type { FrameworkPlugin } from '../host/plugin.js';
import { FRAMEWORK_API_VERSION } from '../host/plugin.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { JobTenancy } from '../sdk/tenancy.js';
import { serveBatchApi } from './api.js';
import { BatchScheduler } from './scheduler.js';

export { BatchScheduler } from './scheduler.js';

/** The plugin. */
const plugin: FrameworkPlugin = {
  name: 'batch',
  version: FRAMEWORK_API_VERSION,
  galaxyApi: '^1',
  create(context) {
    const scheduler = new BatchScheduler(context.log);
    let stopApi: (() => Promise<void>) | undefined;
    let endpoint: string | undefined;
    let coordinator: Coordinator | undefined;
    return {
      // Subscribed with the roles of its jobs' owners (none before the first job: its own role).
      get info() {
        return {
          name: 'batch',
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
        scheduler.useTenancy(new JobTenancy(coordinator, 'batch'));
      },
      async start(driver) {
        scheduler.attach(driver);
        const api = await serveBatchApi(
          scheduler,
          context.options.listen ?? '127.0.0.1:5052',
          context.auth,
          context.tls,
        );
        stopApi = () => api.stop();
        endpoint = api.address;
        context.log.info({ api: api.address }, 'batch API listening');
        console.log(`batch API listening on ${api.address}`);
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
