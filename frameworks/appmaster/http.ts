/**
 * The AppMaster's HTTP/JSON API (`galaxy appmaster --http-listen`, plugin option `http=`): the job
 * verbs of `core/http/job-routes.ts` on the AppMaster's own handlers (`appMasterHandlers`), with
 * their authentication (users' tokens; a pod's token reaches only the pull API, so it is refused
 * here) and, while this AppMaster stands by, their GALAXY_E_NOT_LEADER answer naming the leader.
 */
import { AppMasterService } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { Authenticator } from '../../core/auth/principal.js';
import { inProcessClient } from '../../core/http/in-process.js';
import { registerJobRoutes } from '../../core/http/job-routes.js';
import { API_PREFIX, createHttpApi, listenHttp } from '../../core/http/server.js';
import type { Logger } from '../../core/logger.js';
import type { ServingApi } from '../../core/grpc-server.js';
import type { TlsFiles } from '../../core/tls.js';
import { appMasterHandlers } from './api.js';
import type { AppMaster } from './appmaster.js';

/** Serves the AppMaster's HTTP API on `listen`; TLS as its gRPC API (no client certificate asked). */
export async function serveAppMasterHttp(
  appmaster: AppMaster,
  listen: string,
  standby: () => string | undefined,
  authenticate: Authenticator | undefined,
  log: Logger,
  tls?: TlsFiles,
): Promise<ServingApi> {
  const { auth, verbs } = appMasterHandlers(appmaster, standby, authenticate);
  const app = await createHttpApi({
    title: 'Galaxy AppMaster',
    service: 'galaxy.v1.AppMaster',
    ...(auth ? { auth } : {}),
    ...(tls ? { tls: { ...tls, clientCertificates: 'none' } } : {}),
    log,
  });
  registerJobRoutes(app, (request) => inProcessClient(AppMasterService, verbs, request.caller, `http ${request.ip}`));
  app.get(`${API_PREFIX}/whoami`, { schema: { tags: ['jobs'], summary: 'The caller the token stands for' } }, (r) => ({
    user: r.caller.user,
    admin: r.caller.admin,
    kind: r.caller.kind,
  }));
  const address = await listenHttp(app, listen);
  return { address, stop: () => app.close() };
}
