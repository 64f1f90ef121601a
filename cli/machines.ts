/**
 * `galaxy pool …`, `galaxy label …`, `galaxy agent online|offline|drain <agent>` and
 * `galaxy usage`: machine management and the accounting ledger (docs/tenancy.md).
 */
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import type { AccountingRow, AgentLabels, GetAccountingResponse, PoolEntry } from '../proto/gen/galaxy/v1/operator.js';
import { addListCommand, masterOption, OUTPUT_OPTION, withOperator } from './list-command.js';
import { parseOutputFormat, render, serialize, type Column, type OutputFormat } from './output.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90`, `90s`, `30m`, `1h`, `7d` → seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhdw]?)$/.exec(text.trim());
  if (!match)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `${flag} must be a duration such as 90s, 30m, 1h or 7d, got "${text}"`,
    );
  return Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
}

const HOUR = 3600;
const GIB = 1024 ** 3;
const fixed = (n: number): string => n.toFixed(4);

/** A row of `galaxy usage`: hours of cores and GiB, allocated and used. */
export interface UsageLine {
  readonly user: string;
  readonly pool: string;
  readonly cpuCoreHoursAllocated: number;
  readonly cpuCoreHoursUsed: number;
  readonly memGibHoursAllocated: number;
  readonly memGibHoursUsed: number;
  readonly diskGibHoursAllocated: number;
  readonly diskGibHoursUsed: number;
  /** Held on revocable (reclaimed) resources: lent capacity, not in the allocated figures. */
  readonly cpuCoreHoursRevocable: number;
  readonly memGibHoursRevocable: number;
}

/** Converts resource-seconds to the units people read. */
export function usageLine(row: AccountingRow): UsageLine {
  const a = row.allocated ?? { cpuMs: 0, memBs: 0, diskBs: 0 };
  const u = row.used ?? { cpuMs: 0, memBs: 0, diskBs: 0 };
  const r = row.revocable ?? { cpuMs: 0, memBs: 0, diskBs: 0 };
  return {
    user: row.user,
    pool: row.pool,
    cpuCoreHoursAllocated: a.cpuMs / 1000 / HOUR,
    cpuCoreHoursUsed: u.cpuMs / 1000 / HOUR,
    memGibHoursAllocated: a.memBs / GIB / HOUR,
    memGibHoursUsed: u.memBs / GIB / HOUR,
    diskGibHoursAllocated: a.diskBs / GIB / HOUR,
    diskGibHoursUsed: u.diskBs / GIB / HOUR,
    cpuCoreHoursRevocable: r.cpuMs / 1000 / HOUR,
    memGibHoursRevocable: r.memBs / GIB / HOUR,
  };
}

const USAGE_COLUMNS: Column<UsageLine>[] = [
  { heading: 'USER', value: (r) => r.user },
  { heading: 'POOL', value: (r) => r.pool },
  { heading: 'CPU CORE-H ALLOC', value: (r) => fixed(r.cpuCoreHoursAllocated) },
  { heading: 'CPU CORE-H USED', value: (r) => fixed(r.cpuCoreHoursUsed) },
  { heading: 'MEM GIB-H ALLOC', value: (r) => fixed(r.memGibHoursAllocated) },
  { heading: 'MEM GIB-H USED', value: (r) => fixed(r.memGibHoursUsed) },
  { heading: 'DISK GIB-H ALLOC', value: (r) => fixed(r.diskGibHoursAllocated) },
  { heading: 'DISK GIB-H USED', value: (r) => fixed(r.diskGibHoursUsed) },
  { heading: 'CPU CORE-H REVOCABLE', value: (r) => fixed(r.cpuCoreHoursRevocable) },
  { heading: 'MEM GIB-H REVOCABLE', value: (r) => fixed(r.memGibHoursRevocable) },
];

const LABEL_COLUMNS: Column<AgentLabels>[] = [
  { heading: 'AGENT', value: (r) => r.agentId },
  { heading: 'LABELS', value: (r) => r.labels.join(' ') },
];

const POOL_COLUMNS: Column<PoolEntry>[] = [
  { heading: 'POOL', value: (p) => p.name },
  { heading: 'REGISTERED', value: (p) => (p.registered ? 'yes' : 'no (agents use it)') },
  { heading: 'AGENTS', value: (p) => p.agents.join(',') },
  { heading: 'DESCRIPTION', value: (p) => p.description },
];

/** The text `galaxy usage` prints: the table and the cluster's own total. */
export function renderUsage(response: GetAccountingResponse, format: OutputFormat): string {
  const lines = response.rows.map(usageLine);
  const cluster = usageLine({
    user: '(cluster)',
    pool: '',
    allocated: response.clusterAllocated,
    used: undefined,
    revocable: undefined,
  });
  if (format === 'json' || format === 'yaml')
    return serialize({ fromS: response.fromS, toS: response.toS, rows: lines, cluster }, format);
  const since = new Date(response.fromS * 1000).toISOString();
  return (
    `${render(lines, USAGE_COLUMNS, 'table')}\n` +
    `since ${since}; cluster allocated: ${fixed(cluster.cpuCoreHoursAllocated)} core-h, ` +
    `${fixed(cluster.memGibHoursAllocated)} GiB-h mem, ${fixed(cluster.diskGibHoursAllocated)} GiB-h disk`
  );
}

/** Adds pool, label, agent-mode and usage commands (after the daemon commands, which define `agent`). */
export function addMachineCommands(program: Command, defaultMaster: string): void {
  const masterOpt = masterOption(defaultMaster);
  const outputOpt = OUTPUT_OPTION;

  const pool = program.command('pool').description('the pool registry (admins): add, remove, list, assign');
  pool
    .command('add <name>')
    .description('add a pool to the registry')
    .option('-d, --description <text>', 'what the pool is for', '')
    .option(...masterOpt)
    .action(async (name: string, opts: { master: string; description: string }) => {
      await withOperator(opts.master, (op) => op.addPool({ name, description: opts.description }));
      console.log(`pool ${name} added`);
    });
  pool
    .command('remove <name>')
    .description('remove a pool (refused while agents are in it)')
    .option(...masterOpt)
    .action(async (name: string, opts: { master: string }) => {
      await withOperator(opts.master, (op) => op.removePool({ name }));
      console.log(`pool ${name} removed`);
    });
  addListCommand(pool, 'list', defaultMaster, {
    description: 'registered pools, and pools agents are in',
    columns: POOL_COLUMNS,
    rows: async (op) => (await op.listPools({})).pools,
  });
  pool
    .command('assign <agent> <pool>')
    .description("move an agent to a pool (overrides the agent's --pool)")
    .option(...masterOpt)
    .action(async (agent: string, name: string, opts: { master: string }) => {
      await withOperator(opts.master, (op) => op.assignAgentPool({ agentId: agent, pool: name }));
      console.log(`agent ${agent} is in pool ${name}`);
    });

  const label = program.command('label').description("an agent's labels (admins): key or key=value");
  for (const verb of ['add', 'remove'] as const) {
    label
      .command(`${verb} <agent> <label>`)
      .description(verb === 'add' ? 'add a label (a bare key has value true)' : 'remove the label of that key')
      .option(...masterOpt)
      .action(async (agent: string, text: string, opts: { master: string }) => {
        const labels = await withOperator(opts.master, (op) =>
          verb === 'add'
            ? op.addAgentLabel({ agentId: agent, label: text }).then((r) => r.labels)
            : op.removeAgentLabel({ agentId: agent, label: text }).then((r) => r.labels),
        );
        console.log(`agent ${agent} labels: ${labels.join(' ') || '(none)'}`);
      });
  }
  addListCommand(label, 'list [agent]', defaultMaster, {
    description: 'labels of one agent, or of every agent that has some',
    columns: LABEL_COLUMNS,
    rows: async (op, agent) => (await op.listAgentLabels({ agentId: agent ?? '' })).agents,
  });

  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent');
  const modes = { online: 'online', offline: 'offline', drain: 'draining' } as const;
  for (const [verb, mode] of Object.entries(modes)) {
    agent
      .command(`${verb} <agent>`)
      .description(
        verb === 'online'
          ? 'offer the agent again (ends offline and drain)'
          : verb === 'offline'
            ? 'stop offering the agent; its tasks keep running'
            : 'stop offering the agent and have frameworks move their tasks away',
      )
      .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leader')
      .action(async (id: string, opts: { master?: string }) => {
        // `agent` itself (the daemon) takes --master too and may have parsed it.
        const master = opts.master ?? agent.opts<{ master?: string }>().master ?? defaultMaster;
        await withOperator(master, (op) => op.setAgentMode({ agentId: id, mode }));
        console.log(`agent ${id} is ${mode}`);
      });
  }

  program
    .command('usage')
    .description('resource-seconds allocated and used, per user and pool (the accounting ledger)')
    .option('-u, --user <name>', 'one user (others than yourself: admins only)', '')
    .option('-p, --pool <name>', 'one pool', '')
    .option('-s, --since <duration>', 'how far back, e.g. 30m, 1h, 7d (whole minutes)', '1h')
    .option(...masterOpt)
    .option(...outputOpt)
    .action(async (opts: { master: string; output: string; user: string; pool: string; since: string }) => {
      const format = parseOutputFormat(opts.output);
      const sinceS = parseDuration(opts.since, '--since');
      const response = await withOperator(opts.master, (op) =>
        op.getAccounting({ user: opts.user, pool: opts.pool, sinceS }),
      );
      console.log(renderUsage(response, format));
    });
}
