/**
 * The `appmaster` framework plugin: Galaxy's service framework, hosted by
 * `galaxy framework run appmaster` and started by `galaxy up`.
 *
 * Options:
 * - `listen=<host:port>`: the AppMaster API and the AppWorkers' pull API (default 127.0.0.1:5060);
 * - `advertise=<host:port>`: where AppWorkers reach the pull API, when not at the listen address;
 * - `coordinator=<url>`: where jobs and naming live (default {@link DEFAULT_COORDINATOR}).
 */
import { DEFAULT_COORDINATOR, openCoordinator } from '../../core/coordinator/index.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { galaxyCli } from '../../core/paths.js';
import type { FrameworkPlugin } from '../host/plugin.js';
import { FRAMEWORK_API_VERSION } from '../host/plugin.js';
import { serveAppMasterApi } from './api.js';
import { AppMaster } from './appmaster.js';

export { AppMaster } from './appmaster.js';

/** Where the AppMaster keeps the framework id of its last run, to fail over to it. */
const FRAMEWORK_ID_KEY = '/galaxy/appmaster/framework-id';

/** The argv that starts an AppWorker: this Galaxy's own CLI, by the node running it. */
export function appWorkerArgv(): string[] {
  return [process.execPath, galaxyCli(), 'appworker'];
}

/** The plugin. */
const plugin: FrameworkPlugin = {
  name: 'appmaster',
  version: FRAMEWORK_API_VERSION,
  galaxyApi: '^1',
  create(context) {
    const url = context.options.coordinator ?? DEFAULT_COORDINATOR;
    let coordinator: Coordinator | undefined;
    let api: ServingApi | undefined;
    let appmaster: AppMaster | undefined;
    let id: string | undefined;
    const argv = appWorkerArgv();
    const lazy = (): AppMaster => {
      if (!appmaster) throw new Error('the AppMaster is not prepared');
      return appmaster;
    };
    return {
      get info() {
        return { name: 'appmaster', role: context.options.role ?? 'service', failoverTimeoutS: 3600, id };
      },
      scheduler: {
        subscribed: () => {
          lazy().subscribed();
        },
        offers: (d, offers) => lazy().offers(d, offers),
        update: (d, status) => {
          lazy().update(d, status);
        },
        disconnected: () => {
          lazy().disconnected();
        },
      },
      get endpoint() {
        return api?.address;
      },
      async prepare() {
        const opened = await openCoordinator(url);
        coordinator = opened;
        id = (await opened.get(FRAMEWORK_ID_KEY))?.value;
        const worker = () => ({ argv, endpoint: context.options.advertise ?? api?.address ?? '' });
        appmaster = new AppMaster({ coordinator: opened, log: context.log, worker });
        await appmaster.recover();
        api = await serveAppMasterApi(appmaster, context.options.listen ?? '127.0.0.1:5060');
        context.log.info({ api: api.address, coordinator: opened.description }, 'AppMaster API listening');
      },
      async start(driver) {
        lazy().attach(driver);
        if (coordinator && driver.frameworkId !== id) await coordinator.put(FRAMEWORK_ID_KEY, driver.frameworkId);
        console.log(`AppMaster API listening on ${api?.address ?? '?'}`);
      },
      async stop() {
        await appmaster?.detach();
        await api?.stop();
        await coordinator?.close();
      },
    };
  },
};

export default plugin;
