/**
 * `galaxy disks [agent]`: the agents' named disks, one row per disk, with the cluster's totals per
 * medium below (docs/disks.md, "Seeing the disks"). `galaxy agents` shows the same in one cell.
 */
import type { Command } from 'commander';
import { formatBytes } from '../core/resources.js';
import { GalaxyError } from '../core/errors.js';
import { mediumTotals, type AgentDisk, type MediumTotal } from '../core/disk-usage.js';
import { AgentDisk as AgentDiskType, MediumTotal as MediumTotalType } from '../proto/gen/galaxy/v1/operator.js';
import type { AgentSummary } from '../proto/gen/galaxy/v1/operator.js';
import { masterOption, OUTPUT_OPTION, withOperator } from './list-command.js';
import { parseOutputFormat, render, serialize, type Column, type OutputFormat } from './output.js';

/** One disk of one agent: a row of `galaxy disks`. */
export interface DiskRow {
  readonly agentId: string;
  readonly hostname: string;
  readonly active: boolean;
  readonly disk: AgentDisk;
}

/** Columns of `galaxy disks`. */
export const DISK_COLUMNS: Column<DiskRow>[] = [
  { heading: 'HOST', value: (r) => r.hostname },
  { heading: 'AGENT', value: (r) => r.agentId, wide: true },
  { heading: 'DISK', value: (r) => r.disk.name },
  { heading: 'MEDIUM', value: (r) => r.disk.medium },
  { heading: 'CAPACITY', value: (r) => formatBytes(r.disk.capacity) },
  { heading: 'USED', value: (r) => formatBytes(r.disk.used) },
  { heading: 'FREE', value: (r) => formatBytes(r.disk.free) },
  { heading: 'HELD', value: (r) => formatBytes(r.disk.held), wide: true },
  { heading: 'OFFERED', value: (r) => formatBytes(r.disk.offered), wide: true },
  { heading: 'ACTIVE', value: (r) => (r.active ? 'yes' : 'no'), wide: true },
];

/** Columns of the totals per medium under `galaxy disks`. */
export const MEDIUM_COLUMNS: Column<MediumTotal>[] = [
  { heading: 'MEDIUM', value: (m) => m.medium },
  { heading: 'DISKS', value: (m) => m.disks },
  { heading: 'CAPACITY', value: (m) => formatBytes(m.capacity) },
  { heading: 'USED', value: (m) => formatBytes(m.used) },
  { heading: 'FREE', value: (m) => formatBytes(m.free) },
  { heading: 'HELD', value: (m) => formatBytes(m.held), wide: true },
  { heading: 'OFFERED', value: (m) => formatBytes(m.offered), wide: true },
];

/**
 * The disk rows of `agents` (of the one whose id or hostname is `agent`, if given), by host then
 * disk; an `agent` that matches none is `GALAXY_E_AGENT_UNKNOWN`.
 */
export function diskRows(agents: readonly AgentSummary[], agent?: string): DiskRow[] {
  const chosen =
    agent === undefined ? agents : agents.filter((a) => a.info?.id === agent || a.info?.hostname === agent);
  if (agent !== undefined && chosen.length === 0)
    throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `no agent has the id or hostname "${agent.slice(0, 80)}"`);
  return chosen
    .flatMap((a) =>
      a.disks.map((disk) => ({ agentId: a.info?.id ?? '', hostname: a.info?.hostname ?? '', active: a.active, disk })),
    )
    .sort((x, y) => x.hostname.localeCompare(y.hostname) || x.agentId.localeCompare(y.agentId));
}

/** `galaxy disks`' output: the disks, then (table) their totals per medium, or both as one JSON/YAML document. */
export function renderDisks(rows: readonly DiskRow[], format: OutputFormat): string {
  const media = mediumTotals(rows.map((r) => r.disk));
  if (format === 'json' || format === 'yaml')
    return serialize(
      {
        disks: rows.map((r) => ({
          agentId: r.agentId,
          hostname: r.hostname,
          ...(AgentDiskType.toJSON(r.disk) as object),
        })),
        media: media.map((m) => MediumTotalType.toJSON(m)),
      },
      format,
    );
  if (rows.length === 0) return 'no named disks (agents take them with --disks or --disks-from)';
  return `${render(rows, DISK_COLUMNS, format)}\n\n${render(media, MEDIUM_COLUMNS, format)}`;
}

/** Adds `galaxy disks [agent]`. */
export function addDiskCommands(program: Command, defaultMaster: string): void {
  program
    .command('disks [agent]')
    .description("the agents' named disks (of one agent: its id or hostname): capacity, used, free; totals per medium")
    .option(...masterOption(defaultMaster))
    .option(...OUTPUT_OPTION)
    .action(async (agent: string | undefined, opts: { master: string; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const agents = await withOperator(opts.master, async (op) => (await op.listAgents({})).agents);
      console.log(renderDisks(diskRows(agents, agent), format));
    });
}
