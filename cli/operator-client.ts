/**
 * The CLI's clients of the master's Operator API and of the AppMaster's API: the one typed
 * promise client (`core/promise-client.ts`) with the CLI's credentials.
 */
import { clientOptions } from '../core/auth/client.js';
import { promiseClient, type PromiseClient } from '../core/promise-client.js';
import { channelCredentials, type TlsFiles } from '../core/tls.js';
import { AppMasterService } from '../proto/gen/galaxy/v1/appmaster.js';
import { OperatorService } from '../proto/gen/galaxy/v1/operator.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';

/** The master's Operator API, every unary call a promise. */
export type Operator = PromiseClient<typeof OperatorService>;

/** The AppMaster's API, every unary call a promise. */
export type AppMasterApi = PromiseClient<typeof AppMasterService>;

/**
 * A promise client of `service` at `address` with the CLI's credentials; errors name the server
 * as `<what> at <address>`. `token` and `tls` default to the CLI's ({@link cliToken}, {@link cliTls}).
 */
export function cliClient<S extends Parameters<typeof promiseClient>[0]>(
  service: S,
  address: string,
  what: string,
  token: string | undefined = cliToken(),
  tls: TlsFiles | undefined = cliTls(),
): PromiseClient<S> {
  return promiseClient(service, address, channelCredentials(tls), clientOptions(token), `${what} at ${address}`);
}

/** The Operator API of the master at `master`; `token` and `tls` default to the CLI's. */
export function operatorClient(master: string, token?: string, tls?: TlsFiles): Operator {
  return cliClient(OperatorService, master, 'the master', token, tls);
}

/** The API of the AppMaster at `address`; `token` and `tls` default to the CLI's. */
export function appMasterClient(address: string, token?: string, tls?: TlsFiles): AppMasterApi {
  return cliClient(AppMasterService, address, 'the AppMaster', token, tls);
}
