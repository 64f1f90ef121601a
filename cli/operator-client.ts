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

/** The Operator API of the master at `master`; `token` and `tls` default to the CLI's. */
export function operatorClient(
  master: string,
  token: string | undefined = cliToken(),
  tls: TlsFiles | undefined = cliTls(),
): Operator {
  return promiseClient(
    OperatorService,
    master,
    channelCredentials(tls),
    clientOptions(token),
    `the master at ${master}`,
  );
}

/** The API of the AppMaster at `address`; `token` and `tls` default to the CLI's. */
export function appMasterClient(
  address: string,
  token: string | undefined = cliToken(),
  tls: TlsFiles | undefined = cliTls(),
): AppMasterApi {
  return promiseClient(
    AppMasterService,
    address,
    channelCredentials(tls),
    clientOptions(token),
    `the AppMaster at ${address}`,
  );
}
