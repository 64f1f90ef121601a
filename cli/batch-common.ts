/**
 * What every `galaxy batch` verb shares: where the batch framework is (`--batch`, `--coordinator`,
 * `$GALAXY_BATCH`), following its leader, and the flags that set spec fields.
 */
import type { Command } from 'commander';
import { BATCH_GROUP } from '../core/leader-locator.js';
import { Batch } from './batch-client.js';
import { frameworkTarget, LeaderClient } from './leader-client.js';

/** Where `galaxy batch` finds the batch framework when neither a flag nor the environment says. */
export const DEFAULT_BATCH = '127.0.0.1:5052';

/** The flags that say where the framework is. */
export interface WhereFlags {
  batch?: string;
  coordinator?: string;
  output: string;
}

/** The leading batch framework, found as the flags and the environment say. */
export type BatchLeader = LeaderClient<Batch>;

/** Runs `fn` against the leading batch framework, closing the client afterwards. */
export async function withBatch<T>(flags: WhereFlags, fn: (b: BatchLeader) => Promise<T>): Promise<T> {
  const target = frameworkTarget(
    { coordinator: flags.coordinator, address: flags.batch },
    'GALAXY_BATCH',
    DEFAULT_BATCH,
  );
  const client = new LeaderClient(target, BATCH_GROUP, (address) => new Batch(address));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Adds the options every batch verb takes. */
export function withWhere(cmd: Command): Command {
  return cmd
    .option('-b, --batch <host:port|url>', `the batch framework API (default $GALAXY_BATCH, else ${DEFAULT_BATCH})`)
    .option('--coordinator <url>', 'find the leading batch framework through this coordinator (zk://… or local:/dir)')
    .option('-o, --output <format>', 'table, wide, json or yaml', 'table');
}

/** Adds the flags that set spec fields. */
export function withSpecFlags(cmd: Command): Command {
  return cmd
    .option('-f, --file <file>', 'a batch spec in YAML or JSON (schemas/batch.schema.json); flags override it')
    .option('--name <name>')
    .option('--command <shell>')
    .option('--completions <n>', 'tasks that must succeed')
    .option('--parallelism <n>', 'most running at once')
    .option('--retries <n>', 'retries per completion (0: none)')
    .option('--backoff <s>', 'the first retry delay, doubling')
    .option('--deadline <s>', 'the job fails when it runs longer')
    .option('--resources <spec>', 'per task, e.g. "cpus:0.1;mem:16MiB"')
    .option('--band <band>', 'batch (default) or best-effort: best-effort tasks are the first preempted')
    .option('--pool <pool>', 'the pool its tasks run in (default "default")')
    .option(
      '--volume <host[:path][:rw]...>',
      "bind a host path into each task (under the agents' --allowed-host-paths), read-only unless :rw",
    );
}
