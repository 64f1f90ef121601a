/**
 * `galaxy appmaster` (the service framework as its own process), `galaxy appworker` (what the
 * AppMaster starts inside each pod's container) and `galaxy resolve` (naming).
 */
import type { Command } from 'commander';
import { METRICS_OPTION, startMetrics } from './metrics-flag.js';
import { DEFAULT_COORDINATOR } from '../core/coordinator/index.js';
import { runAppWorkerFromEnv } from '../frameworks/appmaster/appworker/main.js';
import { runFramework } from '../frameworks/host/host.js';
import { coordinatorAuth } from './auth.js';
import { untilSignal } from './daemons.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { parseOutputFormat } from './output.js';
import { resolveCommand } from './resolve.js';

/** Adds `appmaster`, `appworker` and `resolve`. */
export function addServiceCommands(program: Command, defaultMaster: string): void {
  program
    .command('appmaster')
    .description('run the AppMaster (service framework) against a master')
    .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leading one', defaultMaster)
    .option('--listen <host:port>', 'the AppMaster API and the AppWorkers pull API', '127.0.0.1:5060')
    .option('--advertise <host:port>', 'where AppWorkers reach the pull API, if not at --listen')
    .option(
      '--coordinator <url>',
      'where jobs and naming live, and where AppMasters elect their leader: local:/dir or zk://…',
      DEFAULT_COORDINATOR,
    )
    .option(...METRICS_OPTION)
    .option('--http-listen <host:port>', 'also serve the HTTP/JSON API of the job verbs (OpenAPI at /api/openapi.json)')
    .action(
      async (flags: {
        master: string;
        listen: string;
        advertise?: string;
        coordinator: string;
        metricsListen?: string;
        httpListen?: string;
      }) => {
        const options: Record<string, string> = { listen: flags.listen, coordinator: flags.coordinator };
        if (flags.advertise) options.advertise = flags.advertise;
        if (flags.httpListen) options.http = flags.httpListen;
        // It always has a coordinator, so it always authenticates: users against its users, pods with their own tokens.
        const users = await coordinatorAuth(flags.coordinator);
        const tls = cliTls();
        const handle = await runFramework('appmaster', {
          master: flags.master,
          options,
          auth: users.auth,
          token: cliToken(),
          ...(tls ? { tls } : {}),
        });
        console.log(`AppMaster ${handle.framework.endpoint ?? ''} leads, subscribed as ${handle.driver.frameworkId}`);
        const metrics = await startMetrics(flags.metricsListen, () =>
          [handle.framework.metrics].filter((r) => r !== undefined),
        );
        const lost = handle.framework.lost?.then(() => 'lost' as const) ?? new Promise<never>(() => undefined);
        const outcome = await Promise.race([untilSignal(), lost]);
        await metrics?.close();
        await handle.stop();
        await users.close();
        // Deposed: exit so a supervisor restarts it as a standby.
        if (outcome === 'lost') process.exit(1);
      },
    );
  program
    .command('appworker')
    .description("a pod's AppWorker (started by the AppMaster inside each container; reads GALAXY_* env)")
    .action(async () => {
      process.exitCode = await runAppWorkerFromEnv();
    });
  program
    .command('resolve')
    .description("a job's service endpoints from naming; --watch follows changes")
    .argument('<job>')
    .option('--service <name>', 'only this service')
    .option('-w, --watch', 'print the endpoints again on every change, until Ctrl-C')
    .option('--coordinator <url>', 'where naming lives', process.env.GALAXY_COORDINATOR ?? DEFAULT_COORDINATOR)
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (job: string, flags: { service?: string; watch?: boolean; coordinator: string; output: string }) => {
      const controller = new AbortController();
      const onSignal = (): void => {
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const output = parseOutputFormat(flags.output);
      process.exitCode = await resolveCommand(
        job,
        { coordinator: flags.coordinator, watch: flags.watch, service: flags.service, output },
        (line) => {
          console.log(line);
        },
        controller.signal,
      );
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}
