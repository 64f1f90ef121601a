/**
 * `galaxy tasks --watch`: the master's TaskWatch stream (pushed on change, never polled).
 */
import { clientOptions } from '../core/auth/client.js';
import { LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import { channelCredentials } from '../core/tls.js';
import type { Task } from '../proto/gen/galaxy/v1/common.js';
import { TaskWatchClient } from '../proto/gen/galaxy/v1/watch.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { consumeStream } from './watch.js';

/** Calls `each` with the tasks the caller may list, now and after each change, until Ctrl-C. */
export async function watchTasks(master: string, frameworkId: string, each: (tasks: Task[]) => void): Promise<void> {
  const address = await new LeaderLocator(master, MASTER_GROUP).locate();
  const client = new TaskWatchClient(address, channelCredentials(cliTls()), clientOptions(cliToken()));
  try {
    await consumeStream(client.watch({ frameworkId }), `the master at ${address}`, (r) => {
      each(r.tasks);
    });
  } finally {
    client.close();
  }
}
