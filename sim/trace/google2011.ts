/**
 * google2011 (`clusterdata-2011-2`) task events as a {@link Workload}. Per task (job id, index):
 * its first SUBMIT is its arrival, and its last attempt (last SCHEDULE to the end event after it)
 * is what it runs: that long, ending with code 1 when the trace says FAIL and 0 otherwise
 * (FINISH, or KILL/EVICT/LOST: the simulator ends the task at its traced end). Tasks of a job with
 * the same arrival second, request, duration (2 significant digits) and end form one group. Borg's
 * own pending delay of every schedule is its time since the SUBMIT before it.
 */
import { GalaxyError } from '../../core/errors.js';
import { DEFAULT_SCALE, type MachineScale } from '../machines.js';
import { bandOfPriority, type TaskGroup, type Workload } from './workload.js';

const SUBMIT = 0;
const SCHEDULE = 1;
const FAIL = 3;
/** EVICT, FAIL, FINISH, KILL, LOST. */
const ENDS = new Set([2, 3, 4, 5, 6]);

interface TaskRow {
  readonly timeUs: number;
  readonly event: number;
  readonly priority: number;
  readonly cpu: number;
  readonly mem: number;
  readonly differentMachine: boolean;
}

/** A positive duration rounded to 2 significant digits (at least 1 s). */
export function roundDuration(seconds: number): number {
  if (!(seconds > 1)) return 1;
  return Number(seconds.toPrecision(2));
}

/** Parses task_events CSV text (no header) into a workload; `scale` turns normalized requests into resources. */
export function googleWorkload(text: string, source: string, scale: MachineScale = DEFAULT_SCALE): Workload {
  const tasks = new Map<string, TaskRow[]>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === undefined || line === '') continue;
    const c = line.split(',');
    if (c.length !== 13)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `${source} line ${i + 1}: expected 13 columns, got ${c.length}`,
      );
    const timeUs = Number(c[0]);
    const event = Number(c[5]);
    if (!Number.isFinite(timeUs) || !Number.isInteger(event) || event < 0 || event > 8)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${source} line ${i + 1}: bad timestamp or event type`);
    const key = `${c[2]}/${c[3]}`;
    let rows = tasks.get(key);
    if (!rows) tasks.set(key, (rows = []));
    rows.push({
      timeUs,
      event,
      priority: Number(c[8]),
      cpu: Number(c[9] || 0),
      mem: Number(c[10] || 0),
      differentMachine: c[12] === '1',
    });
  }
  const groups = new Map<
    string,
    {
      group: Omit<TaskGroup, 'tasks' | 'name' | 'traceDelaysS' | 'traceFirstDelaysS'>;
      tasks: number[];
      all: number[];
      first: number[];
    }
  >();
  for (const [key, rows] of tasks) {
    rows.sort((a, b) => a.timeUs - b.timeUs || a.event - b.event);
    const all: number[] = [];
    const first: number[] = [];
    let submitted: number | undefined;
    let firstSchedule = true;
    for (const row of rows) {
      if (row.event === SUBMIT) submitted = row.timeUs;
      if (row.event === SCHEDULE && submitted !== undefined) {
        const delay = (row.timeUs - submitted) / 1e6;
        all.push(delay);
        if (firstSchedule) first.push(delay);
        firstSchedule = false;
        submitted = undefined;
      }
    }
    const arrival = rows.find((r) => r.event === SUBMIT);
    const lastSchedule = [...rows].reverse().find((r) => r.event === SCHEDULE);
    const end = [...rows].reverse().find((r) => ENDS.has(r.event));
    if (!arrival || !lastSchedule || !end || end.timeUs < lastSchedule.timeUs) continue;
    const [job, index] = key.split('/');
    const durationS = roundDuration((end.timeUs - lastSchedule.timeUs) / 1e6);
    const exitCode = end.event === FAIL ? 1 : 0;
    const submitS = Math.floor(arrival.timeUs / 1e6);
    const cpus = Math.max(10, Math.round(arrival.cpu * scale.cpus));
    const mem = Math.max(1024 * 1024, Math.round(arrival.mem * scale.mem));
    const band = bandOfPriority(arrival.priority);
    const groupKey = [job, submitS, band, cpus, mem, durationS, exitCode, arrival.differentMachine].join('|');
    let entry = groups.get(groupKey);
    if (!entry) {
      entry = {
        group: {
          traceJob: job ?? '',
          submitS,
          band,
          cpus,
          mem,
          gpus: 0,
          durationS,
          exitCode,
          differentMachine: arrival.differentMachine,
        },
        tasks: [],
        all: [],
        first: [],
      };
      groups.set(groupKey, entry);
    }
    entry.tasks.push(Number(index));
    entry.all.push(...all);
    entry.first.push(...first);
  }
  const perJob = new Map<string, number>();
  const ordered = [...groups.values()]
    .sort((a, b) => a.group.submitS - b.group.submitS || a.group.traceJob.localeCompare(b.group.traceJob))
    .map(({ group, tasks: indexes, all, first }): TaskGroup => {
      const n = perJob.get(group.traceJob) ?? 0;
      perJob.set(group.traceJob, n + 1);
      return {
        ...group,
        name: `g${group.traceJob}-${n}`,
        tasks: indexes.sort((a, b) => a - b),
        traceDelaysS: all,
        traceFirstDelaysS: first,
      };
    });
  return { source, groups: ordered, scheduler: 'Borg' };
}
