/**
 * The `appmaster` framework plugin: Galaxy's service framework, hosted by
 * `galaxy framework run appmaster` and started by `galaxy up`.
 *
 * Options:
 * - `listen=<host:port>`: the AppMaster API and the AppWorkers' pull API (default 127.0.0.1:5060);
 * - `advertise=<host:port>`: where AppWorkers reach the pull API, when not at the listen address;
 * - `coordinator=<url>`: where jobs and naming live (default {@link DEFAULT_COORDINATOR}); AppMasters
 *   sharing it elect one leader, the others stand by (their API refuses with GALAXY_E_NOT_LEADER,
 *   naming the leader). Pods are never told the coordinator: their AppWorkers get every
 *   candidate's address ({@link AppMasterList}) and follow the standbys' NOT_LEADER answers;
 * - `http=<host:port>`: also serve the HTTP/JSON API of the job verbs there (`http.ts`);
 * - `plugins=<path>[,<path>…]`: AppMaster plugins of the operator's own (`hooks.ts`,
 *   docs/writing-plugins.md), applied after the built-in ones; a bad one fails the start.
 */
import { DEFAULT_COORDINATOR, openCoordinator } from '../../core/coordinator/index.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { APPMASTER_GROUP } from '../../core/leader-locator.js';
import { appWorkerEntry } from '../../core/paths.js';
import type { FrameworkPlugin } from '../host/plugin.js';
import { FRAMEWORK_API_VERSION } from '../host/plugin.js';
import { serveAppMasterApi } from './api.js';
import { serveAppMasterHttp } from './http.js';
import { caPem } from '../../core/tls.js';
import { AppMaster } from './appmaster.js';
import { AppMasterList } from './appmasters.js';
import { FrameworkLeadership } from '../sdk/leadership.js';
import { loadAppMasterPlugins } from './plugins/load.js';

export { AppMaster } from './appmaster.js';

/** Where the AppMaster keeps the framework id of its last run, to fail over to it. */
const FRAMEWORK_ID_KEY = '/galaxy/appmaster/framework-id';

/** The argv that starts an AppWorker: this Galaxy's own worker entry point, by the node running it. */
export function appWorkerArgv(): string[] {
  return [process.execPath, appWorkerEntry()];
}

/** The plugin. */
const plugin: FrameworkPlugin = {
  kind: 'framework',
  name: 'appmaster',
  version: FRAMEWORK_API_VERSION,
  galaxyApi: '^1',
  create(context) {
    const url = context.options.coordinator ?? DEFAULT_COORDINATOR;
    let coordinator: Coordinator | undefined;
    let api: ServingApi | undefined;
    let http: ServingApi | undefined;
    let appmaster: AppMaster | undefined;
    let leadership: FrameworkLeadership | undefined;
    let members: AppMasterList | undefined;
    let id: string | undefined;
    let markLost: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => {
      markLost = resolve;
    });
    const argv = appWorkerArgv();
    const lazy = (): AppMaster => {
      if (!appmaster) throw new Error('the AppMaster is not prepared');
      return appmaster;
    };
    return {
      // Subscribed with the roles of its jobs' owners (read after prepare() recovered the jobs).
      get info() {
        const roles = appmaster?.roles.roles() ?? [];
        return { name: 'appmaster', role: context.options.role ?? 'service', roles, failoverTimeoutS: 3600, id };
      },
      scheduler: {
        subscribed: () => {
          lazy().subscribed();
        },
        offers: (d, offers) => {
          lazy().offers(d, offers);
        },
        update: (d, status) => {
          lazy().update(d, status);
        },
        disconnected: () => {
          lazy().disconnected();
        },
        failure: (d, agentId) => {
          lazy().failure(d, agentId);
        },
        agentDraining: (d, agentId, draining) => {
          lazy().agentDraining(d, agentId, draining);
        },
      },
      get endpoint() {
        return api?.address;
      },
      get metrics() {
        return appmaster?.metrics.registry;
      },
      lost,
      async prepare() {
        const plugins = await loadAppMasterPlugins(context.options.plugins ?? '');
        const opened = await openCoordinator(url);
        coordinator = opened;
        // Pods verify a TLS AppMaster with its CA (a certificate, no secret), given in their env.
        const ca = caPem(context.tls);
        const worker = () => ({ argv, appmasters: members?.current ?? [], ...(ca === undefined ? {} : { ca }) });
        const instance = new AppMaster({ coordinator: opened, log: context.log, worker, plugins });
        appmaster = instance;
        api = await serveAppMasterApi(
          instance,
          context.options.listen ?? '127.0.0.1:5060',
          () => (leadership ? leadership.standby() : ''),
          context.auth?.authenticate,
          context.tls,
        );
        if (context.options.http)
          http = await serveAppMasterHttp(
            instance,
            context.options.http,
            () => (leadership ? leadership.standby() : ''),
            context.auth?.authenticate,
            context.log,
            context.tls,
          );
        const address = context.options.advertise ?? api.address;
        members = new AppMasterList(opened, address);
        await members.start();
        // Standbys share the election with the leader; their API names it until they lead.
        const candidate = new FrameworkLeadership(opened, APPMASTER_GROUP, address, context.log, 'AppMaster');
        leadership = candidate;
        await candidate.lead();
        id = await candidate.frameworkId(FRAMEWORK_ID_KEY);
        await instance.recover();
        candidate.serve();
        void candidate.lost.then(async () => {
          await instance.detach();
          markLost();
        });
      },
      async start(driver) {
        lazy().attach(driver);
        await leadership?.rememberFrameworkId(FRAMEWORK_ID_KEY, driver.frameworkId);
        console.log(`AppMaster API listening on ${api?.address ?? '?'}`);
      },
      async stop() {
        members?.stop();
        const wasLeading = leadership !== undefined && leadership.standby() === undefined;
        await leadership?.stop();
        if (wasLeading) await appmaster?.detach();
        await http?.stop();
        await api?.stop();
        await coordinator?.close();
      },
    };
  },
};

export default plugin;
