/**
 * How `galaxy job show|list` print jobs: a summary, the rolling update, why pods are pending, and
 * a table of pods.
 */
import { JobStatus, type JobPlan, type PodStatus, type RevisionEntry } from '../proto/gen/galaxy/v1/appmaster.js';
import { bandName } from '../core/bands.js';
import { render, serialize, type Column, type OutputFormat } from './output.js';

/** Columns of `galaxy job list`. */
export const JOB_COLUMNS: Column<JobStatus>[] = [
  { heading: 'NAME', value: (j) => j.name },
  { heading: 'OWNER', value: (j) => j.owner },
  { heading: 'STATE', value: (j) => j.state },
  { heading: 'REPLICAS', value: (j) => j.replicas },
  { heading: 'HEALTHY', value: (j) => j.message },
  { heading: 'REVISION', value: (j) => j.revision },
  { heading: 'VERSION', value: (j) => j.version },
  { heading: 'UPDATE', value: (j) => updateLine(j) },
];

/** Columns of `galaxy job history`. */
export const HISTORY_COLUMNS: Column<RevisionEntry>[] = [
  { heading: 'REVISION', value: (r) => `${r.revision}${r.current ? ' *' : ''}` },
  { heading: 'TIME', value: (r) => (r.at > 0 ? new Date(r.at).toISOString().slice(0, 19).replace('T', ' ') : '-') },
  { heading: 'USER', value: (r) => r.user || '-' },
  { heading: 'KIND', value: (r) => (r.fromRevision > 0 ? `${r.kind} to r${r.fromRevision}` : r.kind || '-') },
  { heading: 'VERSION', value: (r) => r.version },
  { heading: 'CHANGED', value: (r) => r.fields.join(',') || '-' },
];

/** Columns of the pods in `galaxy job show`. */
export const POD_COLUMNS: Column<PodStatus>[] = [
  { heading: 'POD', value: (p) => p.podId },
  { heading: 'HOST', value: (p) => p.hostname || '-' },
  { heading: 'STATE', value: (p) => stateText(p) },
  { heading: 'VERSION', value: (p) => (p.revision > 0 ? `${p.version} (r${p.revision})` : '-') },
  { heading: 'HEALTH', value: (p) => p.health },
  { heading: 'RESTARTS', value: (p) => p.restarts },
  {
    heading: 'PORTS',
    value: (p) =>
      Object.entries(p.ports)
        .map(([n, v]) => `${n}:${v}`)
        .join(',') || '-',
  },
  { heading: 'CONTAINER', value: (p) => p.taskId || '-' },
  { heading: 'MESSAGE', value: (p) => p.message.slice(0, 60) },
  { heading: 'AGENT', value: (p) => p.agentId || '-', wide: true },
  { heading: 'EXIT', value: (p) => p.lastExitCode, wide: true },
];

/** A pod's state, with the restart delay when it waits for one. */
function stateText(pod: PodStatus): string {
  if (pod.phase !== 'delayed' || pod.delayedUntil <= 0) return pod.phase;
  const seconds = Math.max(0, Math.ceil((pod.delayedUntil - Date.now()) / 1000));
  return `delayed until ${new Date(pod.delayedUntil).toISOString().slice(11, 19)} (${seconds}s, exit ${pod.lastExitCode})`;
}

/** One line about the job's update, or '' when there is none. */
export function updateLine(job: JobStatus): string {
  const u = job.update;
  if (!u) return '';
  const verb = u.rollingBack ? 'rolling back' : u.canary > 0 ? `canary of ${u.canary}` : 'updating';
  const paused = u.paused ? `, PAUSED (${u.pausedReason})` : '';
  const failed = u.failedPods.length > 0 ? ` (${u.failedPods.join(', ')})` : '';
  return `${verb} r${u.fromRevision}→r${u.toRevision}: ${u.updated}/${u.total} done, ${u.failed} failed${failed}${paused}`;
}

/** The whole of `galaxy job show`. */
export function renderJob(job: JobStatus, format: OutputFormat): string {
  if (format === 'json' || format === 'yaml') return serialize(job, format, JobStatus);
  const lines = [`job ${job.name}: ${job.state}, ${job.message}, revision ${job.revision} (version ${job.version})`];
  const update = updateLine(job);
  if (update !== '') lines.push(`update: ${update}`);
  if (job.pending.length > 0) {
    lines.push('pending pods wait because:');
    for (const p of job.pending)
      lines.push(`  ${p.reason}${p.hosts > 0 ? ` — on ${p.hosts} host${p.hosts === 1 ? '' : 's'}` : ''}`);
  }
  if (job.blacklist.length > 0) lines.push(`blacklisted hosts: ${job.blacklist.join(', ')}`);
  lines.push(render(job.pods, POD_COLUMNS, format));
  return lines.join('\n');
}

/** `galaxy job plan`. */
export function renderPlan(plan: JobPlan, format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(plan, null, 2);
  const lines = [
    plan.creates
      ? `job ${plan.name}: new job`
      : `job ${plan.name}: ${plan.kind}${plan.fields.length > 0 ? ` (${plan.fields.join(', ')})` : ''}`,
    'pods:',
    ...plan.pods.map((p) => `  ${p.podId}${p.hostname ? ` on ${p.hostname}` : ''}: ${p.change}`),
  ];
  const age = plan.offersAgeS < 0 ? 'no offers seen yet' : `offers ${Math.round(plan.offersAgeS)}s old`;
  if (plan.placements.length > 0) {
    lines.push(`new containers (placed against ${age}):`);
    for (const p of plan.placements) lines.push(`  ${p.podId} → ${p.hostname || 'does not fit'}`);
  }
  for (const u of plan.unplaced)
    lines.push(`  why not: ${u.reason}${u.hosts > 0 ? ` — on ${u.hosts} host${u.hosts === 1 ? '' : 's'}` : ''}`);
  lines.push(`quota: ${plan.quota.join('; ')}`, `preemption: ${plan.preemption}`);
  lines.push(...renderWouldPreempt(plan));
  return lines.join('\n');
}

/** The master's dry-run answers per pod with no room: the victims it would pick now, or why not. */
function renderWouldPreempt(plan: Pick<JobPlan, 'wouldPreempt' | 'wouldPreemptSkipped'>): string[] {
  const lines = plan.wouldPreempt.map((p) => {
    if (!p.granted) return `  ${p.podId}: would not preempt: ${p.refusal}`;
    if (p.victims.length === 0) return `  ${p.podId}: fits on ${p.hostname || p.agentId} without preempting`;
    const victims = p.victims.map((v) => `task ${v.taskId} (${bandName(v.band)}, framework ${v.frameworkId})`);
    return `  ${p.podId}: would preempt on ${p.hostname || p.agentId}: ${victims.join(', ')}`;
  });
  if (plan.wouldPreemptSkipped > 0)
    lines.push(`  … ${plan.wouldPreemptSkipped} more pod(s) not asked (at most ${plan.wouldPreempt.length} per plan)`);
  return lines.length === 0 ? [] : ["would preempt (the master's dry run now; nothing is preempted):", ...lines];
}
