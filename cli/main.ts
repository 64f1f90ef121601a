#!/usr/bin/env node
/**
 * The `galaxy` command: one binary for every process and every operator verb.
 */
// First: the current context fills in the environment before any command reads its defaults.
import './config/apply.js';
import { Command, CommanderError, Option } from 'commander';
import { isGalaxyError } from '../core/errors.js';
import { addListingCommands } from './listings.js';
import { addMachineCommands } from './machines.js';
import { addDaemonCommands } from './daemons.js';
import { addAgentIdentityCommands } from './agent-identities.js';
import { addAgentShutdownCommand } from './agent-shutdown.js';
import { addBatchCommands } from './batch.js';
import { addFrameworkRunCommand } from './framework-run.js';
import { addMapReduceCommands } from './mapreduce.js';
import { addJobCommands } from './job.js';
import { addVolumeCommands } from './volume.js';
import { addDiskCommands } from './disks.js';
import { addServiceCommands } from './services.js';
import { setTokenFlag } from './token.js';
import { setTlsFlags } from './tls.js';
import { addUserCommands } from './users.js';
import { addTenancyCommands } from './tenancy.js';
import { addEventsCommand } from './events.js';
import { addReservationCommands } from './reservations.js';
import { addCompletionCommand } from './completion.js';
import { addCoordinatorCommands } from './coordinator.js';
import { addConfigCommands } from './config/commands.js';
import { bindDaemonEnv } from './daemon-env.js';
import { addSimCommands } from '../sim/cli.js';
import { addLogsCommands } from './logs.js';
import { environmentHelp } from './environment-help.js';

const DEFAULT_MASTER = process.env.GALAXY_MASTER ?? '127.0.0.1:5050';

const program = new Command()
  .name('galaxy')
  .description('Galaxy: a datacenter operating system (master, agents, frameworks)')
  .version('0.1.0')
  .showHelpAfterError()
  // Usage errors exit 2 like every refusal (docs/cli.md, "Exit codes"), not commander's 1.
  .exitOverride()
  .addHelpText('after', environmentHelp())
  .addOption(new Option('--log-level <level>', 'log level of daemons').env('GALAXY_LOG_LEVEL'))
  .addOption(
    new Option('--context <name>', 'the config context to use (galaxy config get-contexts)').env('GALAXY_CONTEXT'),
  )
  .addOption(
    new Option(
      '--token <token>',
      'bearer token for the servers (else $GALAXY_TOKEN, $GALAXY_TOKEN_FILE, ./.galaxy/admin.token)',
    ),
  )
  .addOption(
    new Option('--tls-cert <file>', 'PEM certificate this process presents (servers: serve TLS)').env(
      'GALAXY_TLS_CERT',
    ),
  )
  .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('GALAXY_TLS_KEY'))
  .addOption(
    new Option(
      '--tls-ca <file>',
      "PEM CA that peers' certificates must be signed by (clients verify the server; servers require client certificates)",
    ).env('GALAXY_TLS_CA'),
  )
  .hook('preAction', () => {
    const opts = program.opts<{ token?: string; tlsCert?: string; tlsKey?: string; tlsCa?: string }>();
    setTokenFlag(opts.token);
    setTlsFlags({ cert: opts.tlsCert, key: opts.tlsKey, ca: opts.tlsCa });
  });

addDaemonCommands(program, DEFAULT_MASTER);
addAgentIdentityCommands(program, DEFAULT_MASTER);
addAgentShutdownCommand(program, DEFAULT_MASTER);
addListingCommands(program, DEFAULT_MASTER);
addDiskCommands(program, DEFAULT_MASTER);
addMachineCommands(program, DEFAULT_MASTER);
addFrameworkRunCommand(program, DEFAULT_MASTER);
addBatchCommands(program);
addMapReduceCommands(program);
addServiceCommands(program, DEFAULT_MASTER);
addTenancyCommands(program, DEFAULT_MASTER);
addEventsCommand(program, DEFAULT_MASTER);
addReservationCommands(program, DEFAULT_MASTER);
addJobCommands(program);
addVolumeCommands(program);
addLogsCommands(program, DEFAULT_MASTER);
addUserCommands(program, DEFAULT_MASTER);
addCoordinatorCommands(program);
addConfigCommands(program);
addSimCommands(program, DEFAULT_MASTER);
bindDaemonEnv(program); // after every daemon command: GALAXY_<DAEMON>_<FLAG> for each flag
addCompletionCommand(program); // last: it reads the command tree

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (isGalaxyError(error)) {
    console.error(`error: ${error.message}`);
    process.exit(error.code === 'GALAXY_E_UNAVAILABLE' ? 3 : 2);
  }
  throw error;
}
