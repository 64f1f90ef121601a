/**
 * `galaxy job show --watch`: the AppMaster's WatchJob stream (pushed on change, never polled),
 * from the leader that answered the first ShowJob.
 */
import { clientOptions } from '../core/auth/client.js';
import { channelCredentials } from '../core/tls.js';
import { AppMasterClient, type JobStatus } from '../proto/gen/galaxy/v1/appmaster.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { consumeStream } from './watch.js';

/** Calls `each` with the job as `address` shows it, now and after each change, until Ctrl-C. */
export async function watchJob(address: string, name: string, each: (job: JobStatus) => void): Promise<void> {
  const client = new AppMasterClient(address, channelCredentials(cliTls()), clientOptions(cliToken()));
  try {
    await consumeStream(client.watchJob({ name }), `the AppMaster at ${address}`, each);
  } finally {
    client.close();
  }
}
