/**
 * `galaxy events`: the cluster's event log, one line per event, oldest first; `-f` (or `-w`, as
 * on `tasks` and `job show`) follows it through the WatchEvents RPC.
 */
import type { Command } from 'commander';
import { bandName } from '../core/bands.js';
import { formatBytes } from '../core/resources.js';
import type { PreemptedTask, Resources } from '../proto/gen/galaxy/v1/common.js';
import { ListEventsRequest, type MasterEvent } from '../proto/gen/galaxy/v1/operator.js';
import { followEvents } from './events-watch.js';
import { withOperator } from './list-command.js';
import { parseDuration } from './machines.js';
import { parseOutputFormat } from './output.js';
import { untilSignal } from './daemons.js';
import { GalaxyError } from '../core/errors.js';

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

/** What an event is about: `job web pod web-2`, `task t-1`, `agent a1`, `framework fw-…`. */
function subject(event: MasterEvent): string {
  const parts: string[] = [];
  if (event.job) parts.push(`job ${event.job}`);
  if (event.pod) parts.push(`pod ${event.pod}`);
  if (event.taskId && !event.pod) parts.push(`task ${event.taskId}`);
  if (event.agentId) parts.push(`${parts.length > 0 ? 'on ' : ''}agent ${event.agentId}`);
  if (parts.length === 0 && event.frameworkId) parts.push(`framework ${event.frameworkId}`);
  return parts.join(' ');
}

/**
 * One event as a line, e.g. `2026-12-02T04:10:03Z task.failed job web pod web-2 on agent a1
 * (alice, by agent a1): exited with 1; reason: command-failed`, and for a preemption
 * `… preemption web/web-3 (production) on agent a1: killed batch-7.task-3 (best-effort, 0.5 cpu
 * 256 MiB); reason: pod web-3 pending`.
 */
export function formatEvent(event: MasterEvent): string {
  const time = new Date(event.time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const p = event.preemption;
  if (event.kind === 'preemption' && p) {
    const host = p.hostname && p.hostname !== p.agentId ? ` (${p.hostname})` : '';
    const killed = p.victims.map(formatVictim).join(', ');
    const reason = event.reason ? `; reason: ${event.reason}` : '';
    return `${time} preemption ${p.requestId} (${bandName(p.band)}) on agent ${p.agentId}${host}: killed ${killed}${reason} [framework ${p.frameworkName || p.frameworkId}]`;
  }
  const who = [event.user, event.actor && event.actor !== event.user ? `by ${event.actor}` : '']
    .filter(Boolean)
    .join(', ');
  const about = subject(event);
  const message = event.message ? `: ${event.message}` : '';
  const reason = event.reason ? `; reason: ${event.reason}` : '';
  const source = event.source && event.source !== 'master' ? ` [${event.source}]` : '';
  return `${time} ${event.kind}${about ? ` ${about}` : ''}${who ? ` (${who})` : ''}${message}${reason}${source}`;
}

interface EventsFlags {
  master: string;
  output: string;
  kind: string;
  since: string;
  limit: string;
  job: string;
  agent: string;
  user: string;
  framework: string;
  follow?: boolean;
  watch?: boolean;
}

/** Adds `galaxy events`. */
export function addEventsCommand(program: Command, defaultMaster: string): void {
  program
    .command('events')
    .description(
      'the event log: agents, frameworks, tasks, jobs and pods, quota refusals and preemptions, with who and why (yours; admins see all)',
    )
    .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leader', defaultMaster)
    .option('-o, --output <format>', 'table (one line per event) or json', 'table')
    .option('-k, --kind <kind>', 'only events of this kind (task.failed) or family (task)', '')
    .option('-j, --job <job>', 'only events of this job', '')
    .option('-a, --agent <agent-id>', 'only events of this agent', '')
    .option('-u, --user <user>', 'only events of this user', '')
    .option('--framework <framework-id>', 'only events of this framework', '')
    .option('-s, --since <duration>', 'only the last 90s, 30m, 1h, 7d…', '')
    .option('-n, --limit <n>', 'only the newest n events', '0')
    .option('-f, --follow', 'keep printing new events as they happen (Ctrl-C stops)')
    .option('-w, --watch', 'the same as --follow')
    .action(async (opts: EventsFlags) => {
      const format = parseOutputFormat(opts.output);
      const sinceS = opts.since === '' ? 0 : Date.now() / 1000 - parseDuration(opts.since, '--since');
      const limit = Number(opts.limit);
      if (!Number.isSafeInteger(limit) || limit < 0)
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--limit must be a whole number ≥ 0, got "${opts.limit}"`);
      const request = ListEventsRequest.fromPartial({
        kind: opts.kind,
        sinceS,
        limit,
        job: opts.job,
        agentId: opts.agent,
        user: opts.user,
        frameworkId: opts.framework,
      });
      const print = (event: MasterEvent) => {
        console.log(format === 'json' ? JSON.stringify(event) : formatEvent(event));
      };
      if (opts.follow === true || opts.watch === true) {
        await followEvents(opts.master, request, print, untilSignal());
        return;
      }
      const events = await withOperator(opts.master, (op) => op.listEvents(request).then((r) => r.events));
      if (format === 'json') console.log(JSON.stringify(events, null, 2));
      else if (events.length === 0) console.log('no events');
      else for (const event of events) print(event);
    });
}
