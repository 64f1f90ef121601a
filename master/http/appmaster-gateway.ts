/**
 * The master's way to the AppMaster for the job routes of its HTTP API (the console's jobs): the
 * AppMaster leader, found through the coordinator's election (as `galaxy job …` finds it) or at
 * a fixed `--appmaster` address, called over gRPC with the HTTP caller's own bearer token. The
 * master adds no authority of its own: the AppMaster authenticates and authorizes the caller.
 * The leader is never taken from a framework's registration (anyone may register a framework
 * and name it `appmaster`; forwarding tokens there would hand them to its owner).
 */
import type { FastifyRequest } from 'fastify';
import { clientOptions } from '../../core/auth/client.js';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import type { JobsApi } from '../../core/http/job-routes.js';
import { APPMASTER_GROUP, LeaderLocator } from '../../core/leader-locator.js';
import { leaderNamedBy } from '../../core/not-leader.js';
import { promiseClient } from '../../core/promise-client.js';
import { channelCredentials, type TlsFiles } from '../../core/tls.js';
import { AppMasterService } from '../../proto/gen/galaxy/v1/appmaster.js';

/** How long a located leader is used before the coordinator is asked again (ms). */
const LEADER_TTL_MS = 5000;

/** Calls the AppMaster leader as each HTTP caller. */
export class AppMasterGateway {
  private readonly locator: LeaderLocator | undefined;
  private leader: { address: string; at: number } | undefined;

  /**
   * @param target `host:port` or a coordinator URL; undefined: no AppMaster is known, and the job
   *   routes answer GALAXY_E_UNAVAILABLE naming the flag
   * @param tls the master's TLS files: the AppMaster is verified with their CA (it asks clients
   *   for no certificate)
   */
  constructor(
    target: string | undefined,
    private readonly tls?: TlsFiles,
  ) {
    this.locator = target ? new LeaderLocator(target, APPMASTER_GROUP) : undefined;
  }

  /** The AppMaster API called with `request`'s bearer token. */
  forRequest(request: FastifyRequest): JobsApi {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '')?.[1];
    const via = <T>(fn: (api: JobsApi) => Promise<T>) => this.call(token, fn);
    return {
      listJobs: (r) => via((api) => api.listJobs(r)),
      showJob: (r) => via((api) => api.showJob(r)),
      submitJob: (r) => via((api) => api.submitJob(r)),
      updateJob: (r) => via((api) => api.updateJob(r)),
      scaleJob: (r) => via((api) => api.scaleJob(r)),
      controlUpdate: (r) => via((api) => api.controlUpdate(r)),
      stopJob: (r) => via((api) => api.stopJob(r)),
      removeJob: (r) => via((api) => api.removeJob(r)),
    };
  }

  private async address(fresh: boolean): Promise<string> {
    if (!this.locator)
      throw new GalaxyError(
        'GALAXY_E_UNAVAILABLE',
        'this master knows no AppMaster: start it with --coordinator (the AppMasters elect there) or --appmaster host:port',
      );
    if (!fresh && this.leader && Date.now() - this.leader.at < LEADER_TTL_MS) return this.leader.address;
    const address = await this.locator.locate();
    this.leader = { address, at: Date.now() };
    return address;
  }

  /** Runs `fn` against the leader; a NOT_LEADER answer or an unreachable leader is looked up once more. */
  private async call<T>(token: string | undefined, fn: (api: JobsApi) => Promise<T>): Promise<T> {
    let address = await this.address(false);
    for (let attempt = 0; ; attempt++) {
      const api = promiseClient(
        AppMasterService,
        address,
        channelCredentials(this.tls?.ca ? { ca: this.tls.ca } : undefined),
        clientOptions(token),
        `the AppMaster at ${address}`,
      );
      try {
        return await fn(api);
      } catch (error) {
        const named = leaderNamedBy(error);
        const retry = attempt === 0 && (named !== undefined || isGalaxyError(error, 'GALAXY_E_UNAVAILABLE'));
        if (!retry) throw error;
        address = named || (await this.address(true));
        if (named) this.leader = { address: named, at: Date.now() };
      } finally {
        api.close();
      }
    }
  }
}
