#!/usr/bin/env node
/**
 * The `galaxy` command: one binary for every process and every operator verb.
 */
import { Command, Option } from 'commander';
import { isGalaxyError } from '../core/errors.js';
import { addListingCommands } from './listings.js';
import { addMachineCommands } from './machines.js';
import { addDaemonCommands } from './daemons.js';
import { addBatchCommands } from './batch.js';
import { addMapReduceCommands } from './mapreduce.js';
import { addJobCommands } from './job.js';
import { addServiceCommands } from './services.js';
import { setTokenFlag } from './token.js';
import { addUserCommands } from './users.js';
import { addTenancyCommands } from './tenancy.js';
import { addEventsCommand } from './events.js';
import { addReservationCommands } from './reservations.js';
import { addCompletionCommand } from './completion.js';
import { bindDaemonEnv } from './daemon-env.js';

const DEFAULT_MASTER = process.env.GALAXY_MASTER ?? '127.0.0.1:5050';

const program = new Command()
  .name('galaxy')
  .description('Galaxy: a datacenter operating system (master, agents, frameworks)')
  .version('0.1.0')
  .showHelpAfterError()
  .addOption(new Option('--log-level <level>', 'log level of daemons').env('GALAXY_LOG_LEVEL'))
  .addOption(
    new Option(
      '--token <token>',
      'bearer token for the servers (else $GALAXY_TOKEN, $GALAXY_TOKEN_FILE, ./.galaxy/admin.token)',
    ),
  )
  .hook('preAction', () => {
    setTokenFlag(program.opts<{ token?: string }>().token);
  });

addDaemonCommands(program, DEFAULT_MASTER);
addListingCommands(program, DEFAULT_MASTER);
addMachineCommands(program, DEFAULT_MASTER);
addBatchCommands(program, DEFAULT_MASTER);
addMapReduceCommands(program);
addServiceCommands(program, DEFAULT_MASTER);
addTenancyCommands(program, DEFAULT_MASTER);
addEventsCommand(program, DEFAULT_MASTER);
addReservationCommands(program, DEFAULT_MASTER);
addJobCommands(program);
addUserCommands(program, DEFAULT_MASTER);
bindDaemonEnv(program); // after every daemon command: GALAXY_<DAEMON>_<FLAG> for each flag
addCompletionCommand(program); // last: it reads the command tree

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (isGalaxyError(error)) {
    console.error(`error: ${error.message}`);
    process.exit(error.code === 'GALAXY_E_UNAVAILABLE' ? 3 : 2);
  }
  throw error;
}
