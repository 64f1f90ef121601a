/**
 * `galaxy agents | frameworks | tasks | weights`: operator listings.
 */
import type { Command } from 'commander';
import { formatBytes, formatResources } from '../core/resources.js';
import { disksCell } from '../core/disk-usage.js';
import { stateName } from '../core/task-state.js';
import { AgentSummary, FrameworkSummary, WeightInfo } from '../proto/gen/galaxy/v1/operator.js';
import { Task, TaskUsage } from '../proto/gen/galaxy/v1/common.js';
import { GalaxyError } from '../core/errors.js';
import { addListCommand, masterOption, OUTPUT_OPTION, withOperator } from './list-command.js';
import { parseOutputFormat, render, type Column } from './output.js';
import { watchFrame } from './watch.js';
import { watchTasks } from './task-watch.js';

const WEIGHT_COLUMNS: Column<WeightInfo>[] = [
  { heading: 'ROLE', value: (w) => w.role },
  { heading: 'WEIGHT', value: (w) => w.weight },
];

const AGENT_COLUMNS: Column<AgentSummary>[] = [
  { heading: 'ID', value: (a) => a.info?.id ?? '' },
  { heading: 'HOSTNAME', value: (a) => a.info?.hostname ?? '' },
  { heading: 'POOL', value: (a) => a.info?.pool ?? '' },
  { heading: 'ACTIVE', value: (a) => (a.active ? 'yes' : 'no') },
  { heading: 'MODE', value: (a) => a.mode || 'online' },
  { heading: 'LABELS', value: (a) => a.labels.join(',') },
  { heading: 'TASKS', value: (a) => a.tasks },
  { heading: 'TOTAL', value: (a) => (a.info?.total ? formatResources(a.info.total) : '') },
  { heading: 'USED', value: (a) => (a.used ? formatResources(a.used) : '') },
  // Named disks per medium, used/capacity (docs/disks.md); `galaxy disks` has one row per disk.
  { heading: 'DISKS', value: (a) => disksCell(a.disks) },
  // Revocable resources (docs/resources.md): held by tasks on them / what the agent lends.
  { heading: 'REVOCABLE', value: (a) => revocableColumn(a) },
  {
    heading: 'ATTRIBUTES',
    value: (a) => (a.info?.attributes ?? []).map((l) => (l.value ? `${l.key}=${l.value}` : l.key)).join(','),
    wide: true,
  },
  { heading: 'HOST-PATHS', value: (a) => (a.info?.allowedHostPaths ?? []).map((h) => h.path).join(','), wide: true },
];

const FRAMEWORK_COLUMNS: Column<FrameworkSummary>[] = [
  { heading: 'ID', value: (f) => f.info?.id ?? '' },
  { heading: 'NAME', value: (f) => f.info?.name ?? '' },
  { heading: 'OWNER', value: (f) => f.owner },
  { heading: 'ROLES', value: (f) => (f.info?.roles.length ? f.info.roles.join(',') : (f.info?.role ?? '')) },
  { heading: 'ACTIVE', value: (f) => (f.active ? 'yes' : 'no') },
  { heading: 'TASKS', value: (f) => f.tasks },
  { heading: 'SHARE', value: (f) => f.dominantShare.toFixed(3) },
  { heading: 'USED', value: (f) => (f.used ? formatResources(f.used) : '') },
];

const TASK_COLUMNS: Column<Task>[] = [
  { heading: 'ID', value: (t) => t.taskId },
  { heading: 'NAME', value: (t) => t.name },
  { heading: 'FRAMEWORK', value: (t) => t.frameworkId },
  { heading: 'ROLE', value: (t) => t.role },
  { heading: 'AGENT', value: (t) => t.agentId },
  { heading: 'STATE', value: (t) => stateName(t.state) },
  { heading: 'REASON', value: (t) => t.status?.reason ?? '' },
  { heading: 'RESOURCES', value: (t) => (t.resources ? formatResources(t.resources) : '') },
  // "revocable": it runs on revocable resources, and its agent may evict it.
  { heading: 'ON', value: (t) => (t.onRevocable === true ? 'revocable' : 'regular') },
  { heading: 'MESSAGE', value: (t) => (t.status?.message ?? '').slice(0, 80), wide: true },
  {
    heading: 'UPDATED',
    value: (t) => (t.status?.timestamp ? new Date(t.status.timestamp * 1000).toISOString() : ''),
    wide: true,
  },
];

const USAGE_COLUMNS: Column<TaskUsage>[] = [
  { heading: 'ID', value: (t) => t.taskId },
  { heading: 'AGENT', value: (t) => t.agentId },
  { heading: 'CPU-S', value: (t) => (t.usage?.cpuSeconds ?? 0).toFixed(2) },
  { heading: 'THROTTLED-S', value: (t) => (t.usage?.cpuThrottledSeconds ?? 0).toFixed(2) },
  // Cpu lent now above the request (soft-limited tasks), in cpus like RESOURCES.
  { heading: 'CPU-LENT', value: (t) => (t.usage?.cpuLentMillicores ?? 0) / 1000 },
  { heading: 'MEM', value: (t) => formatBytes(t.usage?.memBytes ?? 0) },
  { heading: 'MEM-MAX', value: (t) => formatBytes(t.usage?.memMaxBytes ?? 0) },
  { heading: 'PIDS', value: (t) => t.usage?.pids ?? 0 },
  { heading: 'DISK', value: (t) => formatBytes(t.usage?.diskBytes ?? 0) },
];

/** `cpus:…;mem:…/cpus:…;mem:…` (used / estimated) of an agent's revocable resources; '-' when it lends none. */
function revocableColumn(a: AgentSummary): string {
  const estimate = a.revocableEstimate;
  const used = a.revocableUsed;
  if (!estimate?.cpus && !estimate?.mem && !used?.cpus && !used?.mem) return '-';
  const scalars = (r: typeof estimate) => `cpus:${((r?.cpus ?? 0) / 1000).toString()};mem:${formatBytes(r?.mem ?? 0)}`;
  return `${scalars(used)}/${scalars(estimate)}`;
}

/** Adds the listing commands to the program. */
export function addListingCommands(program: Command, defaultMaster: string): void {
  const masterOpt = masterOption(defaultMaster);
  const outputOpt = OUTPUT_OPTION;
  addListCommand(program, 'agents', defaultMaster, {
    description: 'list agents with their resources',
    columns: AGENT_COLUMNS,
    type: AgentSummary,
    rows: async (op) => (await op.listAgents({})).agents,
  });
  addListCommand(program, 'frameworks', defaultMaster, {
    description: 'list frameworks with their dominant shares',
    columns: FRAMEWORK_COLUMNS,
    type: FrameworkSummary,
    rows: async (op) => (await op.listFrameworks({})).frameworks,
  });
  program
    .command('tasks')
    .description('list tasks (live, then recently completed); --usage shows what live tasks use')
    .option(...masterOpt)
    .option(...outputOpt)
    .option('-f, --framework <id>', 'only this framework', '')
    .option('-u, --usage', 'cpu, memory, pids and disk of live tasks, measured by their agents')
    .option('-w, --watch', 'print them again each time a task changes (pushed by the master), until Ctrl-C')
    .action(async (opts: { master: string; output: string; framework: string; usage?: boolean; watch?: boolean }) => {
      const format = parseOutputFormat(opts.output);
      if (opts.watch) {
        if (opts.usage) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', '--watch and --usage do not go together');
        await watchTasks(opts.master, opts.framework, (tasks) => {
          console.log(watchFrame(render(tasks, TASK_COLUMNS, format, Task), format));
        });
        return;
      }
      if (opts.usage) {
        const rows = await withOperator(opts.master, (op) =>
          op.getUsage({ frameworkId: opts.framework }).then((r) => r.tasks),
        );
        console.log(render(rows, USAGE_COLUMNS, format, TaskUsage));
        return;
      }
      const rows = await withOperator(opts.master, (op) =>
        op.listTasks({ frameworkId: opts.framework }).then((r) => r.tasks),
      );
      console.log(render(rows, TASK_COLUMNS, format, Task));
    });
  const weights = program.command('weights').description('show or set role weights');
  addListCommand(
    weights,
    'show',
    defaultMaster,
    {
      description: 'show role weights',
      columns: WEIGHT_COLUMNS,
      type: WeightInfo,
      rows: async (op) => (await op.getWeights({})).weights,
    },
    { isDefault: true },
  );
  weights
    .command('set')
    .description('set weights, e.g. `galaxy weights set eng=2 ops=1`')
    .argument('<role=weight...>')
    .option(...masterOpt)
    .action(async (pairs: string[], opts: { master: string }) => {
      const parsed = pairs.map((pair) => {
        const [role, value] = pair.split('=');
        if (!role || value === undefined || value === '') {
          throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `expected role=weight, got "${pair}"`);
        }
        return { role, weight: Number(value) };
      });
      await withOperator(opts.master, (op) => op.setWeights({ weights: parsed }));
      console.log(`set ${parsed.map((w) => `${w.role}=${w.weight}`).join(' ')}`);
    });
}
