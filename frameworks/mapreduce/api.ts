/**
 * The MapReduce framework's gRPC API (`galaxy mr …` talks to it).
 */
import type { ServerAuth } from '../../core/auth/server.js';
import { unaryAsCaller } from '../../core/auth/caller.js';
import type { Server } from '@grpc/grpc-js';
import { serveGrpc, type ServingApi } from '../../core/grpc-server.js';
import type { TlsFiles } from '../../core/tls.js';
import {
  MapReduceService,
  type CancelMapReduceJobRequest,
  type MapReduceJob,
  type MapReduceJobSpec,
  type ShowMapReduceJobRequest,
} from '../../proto/gen/galaxy/v1/mapreduce.js';
import { leaderOnly } from '../sdk/leadership.js';
import type { MapReduceScheduler } from './scheduler.js';

/**
 * Serves the MapReduce API on `listen` (callers must present a valid token when `auth` is given;
 * each verb runs as its caller; TLS with `tls`; a standby answers GALAXY_E_NOT_LEADER); resolves
 * with the bound address and a stop function.
 */
export function serveMapReduceApi(
  scheduler: MapReduceScheduler,
  listen: string,
  auth?: ServerAuth,
  tls?: TlsFiles,
  /** While standing by: the leader's address ('' while none is elected); undefined once leading. */
  standby?: () => string | undefined,
): Promise<ServingApi> {
  const leading = leaderOnly('mapreduce framework', standby);
  const register = (server: Server): void => {
    server.addService(MapReduceService, {
      submit: unaryAsCaller<MapReduceJobSpec, MapReduceJob>(leading((spec, caller) => scheduler.submit(spec, caller))),
      show: unaryAsCaller<ShowMapReduceJobRequest, MapReduceJob>(
        leading((request, caller) => scheduler.show(request.name, caller)),
      ),
      cancel: unaryAsCaller<CancelMapReduceJobRequest, MapReduceJob>(
        leading((request, caller) => scheduler.cancel(request.name, caller)),
      ),
    });
  };
  return serveGrpc('mapreduce API', listen, register, auth, tls ? { tls } : {});
}
