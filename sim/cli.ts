/**
 * `galaxy sim …`: the simulator (issue 16). `galaxy sim agents` runs thousands of simulated agents
 * against a real master; `galaxy sim replay <trace>` replays a cluster trace through the real
 * frameworks on such agents and writes a report.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readTokenFile } from '../core/auth/client.js';
import { createLogger } from '../core/logger.js';
import { GalaxyError } from '../core/errors.js';
import { cliToken } from '../cli/token.js';
import { cliTls } from '../cli/tls.js';
import { DEFAULT_SCALE, parseMachinesCsv, uniformMachines, type SimMachine } from './machines.js';
import { runAgents } from './run-agents.js';
import { addReplayCommand } from './replay-command.js';
import { parseShard, positive, shardOf } from './flags.js';

interface AgentsFlags {
  master: string;
  agents: string;
  resources: string;
  machines?: string;
  shard: string;
  speedup: string;
  agentsPerChannel: string;
  reportEvery: string;
  joinTokenFile?: string;
  credentials?: string;
  oversubscribe?: boolean;
}

/** A credentials file: one `<agent id> <credential>` per machine, in the machines' order. */
function readCredentials(path: string): { agentId: string; credential: string }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const [agentId, credential, extra] = line.trim().split(/\s+/);
      if (agentId === undefined || credential === undefined || extra !== undefined)
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `--credentials ${path} line ${i + 1}: expected "<agent id> <credential>"`,
        );
      return { agentId, credential };
    });
}

/** Adds `galaxy sim`. */
export function addSimCommands(program: Command, defaultMaster: string): void {
  const sim = program.command('sim').description('simulate a datacenter against a real master (issue 16)');
  sim
    .command('agents')
    .description('run simulated agents: the real agent protocol over gRPC, tasks that only pass time')
    .option('-m, --master <host:port|url>', 'the master, or a coordinator URL to follow its leader', defaultMaster)
    .option('-n, --agents <n>', 'how many agents (with --machines: at most this many of its machines)', '100')
    .option('--resources <spec>', "each agent's resources when there is no --machines", 'cpus:32;mem:128GiB;disk:1TiB')
    .option('--machines <csv>', "a trace's machines.csv (google2011): one agent per machine, 1.0 = 64 cores / 256 GiB")
    .option('--shard <i/n>', 'run every n-th machine from the i-th (several processes for a large cell)', '0/1')
    .option('--speedup <x>', 'trace seconds per wall second: a "sleep 60" task runs 6 s at 10', '1')
    .option(
      '--agents-per-channel <n>',
      "agents sharing one gRPC connection (below the master's maxConcurrentStreams)",
      '100',
    )
    .option('--report-every <s>', 'seconds between the JSON lines on stdout', '5')
    .option(
      '--join-token-file <file>',
      'a join token good for as many agents (galaxy agent join-token --uses N); else --token',
    )
    .option(
      '--credentials <file>',
      'each agent\'s own id and credential (galaxy agent credential <id>), one "<id> <credential>" line per machine',
    )
    .option(
      '--oversubscribe',
      'report revocable estimates from the usage model (docs/simulator.md, "Reclamation") and evict revocable tasks at load peaks',
    )
    .action(async (flags: AgentsFlags) => {
      const agents = positive(flags.agents, '--agents');
      const shard = parseShard(flags.shard);
      let machines: SimMachine[];
      if (flags.machines !== undefined) {
        const text = readFileSync(flags.machines, 'utf8');
        machines = parseMachinesCsv(text, DEFAULT_SCALE).slice(0, agents);
      } else machines = uniformMachines(agents, flags.resources);
      const credentials = flags.credentials === undefined ? undefined : readCredentials(flags.credentials);
      if (credentials && credentials.length < machines.length)
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `--credentials has ${credentials.length} lines for ${machines.length} machines`,
        );
      const identities = credentials && shardOf(credentials.slice(0, machines.length), shard.index, shard.count);
      machines = shardOf(machines, shard.index, shard.count);
      const log = createLogger('sim', program.opts<{ logLevel?: string }>().logLevel ?? 'warn');
      await runAgents({
        master: flags.master,
        token: flags.joinTokenFile === undefined ? cliToken() : readTokenFile(flags.joinTokenFile),
        tls: cliTls(),
        machines,
        identities,
        speedup: positive(flags.speedup, '--speedup'),
        agentsPerChannel: positive(flags.agentsPerChannel, '--agents-per-channel'),
        reportEveryS: positive(flags.reportEvery, '--report-every'),
        reclaim: flags.oversubscribe === true ? {} : undefined,
        log,
      });
    });
  addReplayCommand(sim, defaultMaster);
}
