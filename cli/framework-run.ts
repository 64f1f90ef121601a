/**
 * `galaxy framework run <name|path>`: hosts a framework plugin against a master. Frameworks that
 * run with standbys (batch, MapReduce, the AppMaster) stand by here until elected; one that loses
 * its leadership exits with code 1, for its supervisor to start it again as a standby.
 */
import type { Command } from 'commander';
import { METRICS_OPTION, startMetrics } from './metrics-flag.js';
import { GalaxyError } from '../core/errors.js';
import { runFramework } from '../frameworks/host/host.js';
import { coordinatorAuth } from './auth.js';
import { insecureWarning, untilSignal } from './daemons.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';

/** Parses `key=value` options. */
function parseOptions(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--option expects key=value, got "${pair}"`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** Adds `framework run`. */
export function addFrameworkRunCommand(program: Command, defaultMaster: string): void {
  program
    .command('framework')
    .description('host framework plugins')
    .command('run')
    .description('run a framework plugin (built-in name, e.g. batch, or a module path) against a master')
    .argument('<name|path>')
    .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leading one', defaultMaster)
    .option('--option <key=value...>', 'options for the plugin, e.g. listen=127.0.0.1:5052', [])
    .option(
      '--coordinator <url>',
      "authenticate the framework's API against the users of this coordinator; also the plugin's coordinator= unless given (where batch and MapReduce keep their jobs and elect a leader)",
    )
    .option(
      '--insecure-no-auth',
      "serve the framework's API without authentication (a warning is printed on every start)",
    )
    .option(...METRICS_OPTION)
    .action(
      async (
        spec: string,
        flags: {
          master: string;
          option: string[];
          coordinator?: string;
          insecureNoAuth?: boolean;
          metricsListen?: string;
        },
      ) => {
        if (flags.coordinator === undefined && flags.insecureNoAuth !== true)
          throw new GalaxyError(
            'GALAXY_E_INVALID_ARGUMENT',
            "galaxy framework run authenticates its API's callers against the users of a coordinator: pass --coordinator <url> (the master's, e.g. local:/var/lib/galaxy/coord), or --insecure-no-auth to serve it open",
          );
        const users = flags.coordinator === undefined ? undefined : await coordinatorAuth(flags.coordinator);
        const tls = cliTls();
        const options = parseOptions(flags.option);
        if (flags.coordinator !== undefined && !('coordinator' in options)) options.coordinator = flags.coordinator;
        const handle = await runFramework(spec, {
          master: flags.master,
          options,
          token: cliToken(),
          ...(users ? { auth: users.auth } : {}),
          ...(tls ? { tls } : {}),
        });
        if (!users)
          console.error(
            insecureWarning(`framework ${handle.framework.info.name}`, handle.framework.endpoint ?? 'its API'),
          );
        console.log(`framework ${handle.framework.info.name} subscribed as ${handle.driver.frameworkId}`);
        const metrics = await startMetrics(flags.metricsListen, () =>
          [handle.framework.metrics].filter((r) => r !== undefined),
        );
        const lost = handle.framework.lost?.then(() => 'lost' as const) ?? new Promise<never>(() => undefined);
        const outcome = await Promise.race([untilSignal(), lost]);
        await metrics?.close();
        await handle.stop();
        await users?.close();
        // Deposed: exit so that a supervisor starts it again as a standby.
        if (outcome === 'lost') process.exit(1);
      },
    );
}
