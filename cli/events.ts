/**
 * `galaxy events`: the master's event log (preemptions), one line per event, oldest first.
 */
import type { Command } from 'commander';
import { bandName } from '../core/bands.js';
import { formatBytes } from '../core/resources.js';
import type { PreemptedTask, Resources } from '../proto/gen/galaxy/v1/common.js';
import type { MasterEvent } from '../proto/gen/galaxy/v1/operator.js';
import { withOperator } from './list-command.js';
import { parseDuration } from './machines.js';
import { parseOutputFormat } from './output.js';

/** `0.5 cpu 256 MiB` (and disk or gpus when a task has them). */
function formatAmount(r: Resources | undefined): string {
  if (!r) return '';
  const parts = [`${r.cpus / 1000} cpu`, formatBytes(r.mem).replace(/([0-9.])([KMGT]?i?B)$/, '$1 $2')];
  if (r.disk > 0) parts.push(`${formatBytes(r.disk).replace(/([0-9.])([KMGT]?i?B)$/, '$1 $2')} disk`);
  if (r.gpus > 0) parts.push(`${r.gpus} gpu`);
  return parts.join(' ');
}

function formatVictim(v: PreemptedTask): string {
  return `${v.name || v.taskId} (${bandName(v.band)}, ${formatAmount(v.resources)})`;
}

/**
 * One event as a line, e.g. `2026-12-02T04:10:03Z preemption web/web-3 (production) on agent a1:
 * killed batch-7.task-3 (best-effort, 0.5 cpu 256 MiB); reason: pod web-3 pending`.
 */
export function formatEvent(event: MasterEvent): string {
  const time = new Date(event.time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const p = event.preemption;
  if (event.kind !== 'preemption' || !p) return `${time} ${event.kind}${event.reason ? `: ${event.reason}` : ''}`;
  const host = p.hostname && p.hostname !== p.agentId ? ` (${p.hostname})` : '';
  const killed = p.victims.map(formatVictim).join(', ');
  const reason = event.reason ? `; reason: ${event.reason}` : '';
  return `${time} preemption ${p.requestId} (${bandName(p.band)}) on agent ${p.agentId}${host}: killed ${killed}${reason} [framework ${p.frameworkName || p.frameworkId}]`;
}

/** Adds `galaxy events`. */
export function addEventsCommand(program: Command, defaultMaster: string): void {
  program
    .command('events')
    .description('the master event log: preemptions, with what was killed for whom and why')
    .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leader', defaultMaster)
    .option('-o, --output <format>', 'table (one line per event) or json', 'table')
    .option('-k, --kind <kind>', 'only events of this kind, e.g. preemption', '')
    .option('-s, --since <duration>', 'only the last 90s, 30m, 1h, 7d…', '')
    .option('-n, --limit <n>', 'only the newest n events', '0')
    .action(async (opts: { master: string; output: string; kind: string; since: string; limit: string }) => {
      const format = parseOutputFormat(opts.output);
      const sinceS = opts.since === '' ? 0 : Date.now() / 1000 - parseDuration(opts.since, '--since');
      const limit = Number.parseInt(opts.limit, 10) || 0;
      const events = await withOperator(opts.master, (op) =>
        op.listEvents({ kind: opts.kind, sinceS, limit }).then((r) => r.events),
      );
      if (format === 'json') console.log(JSON.stringify(events, null, 2));
      else if (events.length === 0) console.log('no events');
      else for (const event of events) console.log(formatEvent(event));
    });
}
