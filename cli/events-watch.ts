/**
 * Follows the master's event stream (`WatchEvents`) for `galaxy events -f`: reconnects to the
 * leading master after a failover or a dropped connection and resumes after the last event seen,
 * so nothing is shown twice and nothing kept is missed.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { clientOptions } from '../core/auth/client.js';
import { fromGrpcError } from '../core/grpc-errors.js';
import { LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import { channelCredentials } from '../core/tls.js';
import { OperatorClient, type ListEventsRequest, type MasterEvent } from '../proto/gen/galaxy/v1/operator.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';

/** Pause before reconnecting after the stream ended. */
const RECONNECT_MS = 1000;

/** Errors worth a reconnect: the master went away or handed over, not a refusal of the request. */
function transient(error: ServiceError): boolean {
  return (
    error.code === status.UNAVAILABLE ||
    error.code === status.CANCELLED ||
    error.code === status.DEADLINE_EXCEEDED ||
    error.code === status.INTERNAL ||
    error.details.startsWith('GALAXY_E_NOT_LEADER')
  );
}

/**
 * Calls `onEvent` for each event matching `request` until `stop` resolves (resolving then), or
 * rejects with the coded error of a refusal (bad filter, no token).
 */
export async function followEvents(
  master: string,
  request: ListEventsRequest,
  onEvent: (event: MasterEvent) => void,
  stop: Promise<unknown>,
): Promise<void> {
  const locator = new LeaderLocator(master, MASTER_GROUP);
  let afterId = request.afterId;
  let first = true;
  const state: { stopped: boolean } = { stopped: false };
  void stop.then(() => {
    state.stopped = true;
  });
  while (!state.stopped) {
    const address = await locator.locate();
    const client = new OperatorClient(address, channelCredentials(cliTls()), clientOptions(cliToken()));
    // The backlog (`limit`) is asked for once; a resumed stream continues after the last event.
    const call = client.watchEvents({ ...request, afterId, limit: first ? request.limit : 0 });
    first = false;
    const ended = await new Promise<ServiceError | undefined>((resolve) => {
      call.on('data', (event: MasterEvent) => {
        afterId = Math.max(afterId, event.id);
        onEvent(event);
      });
      call.on('error', (error: ServiceError) => {
        resolve(error);
      });
      call.on('end', () => {
        resolve(undefined);
      });
      void stop.then(() => {
        call.cancel();
        resolve(undefined);
      });
    });
    client.close();
    // Set by `stop` while the stream was open.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (state.stopped) return;
    if (ended && !transient(ended)) throw fromGrpcError(ended, `the master at ${address}`);
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}
