/**
 * A job as `galaxy job show` and `list` see it.
 */
import type { JobStatus, PodStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { ownerOf } from './admission.js';
import type { JobState } from './job-state.js';
import { appliedRevision, isHealthyAtTarget, podPhase, type Pod } from './model.js';
import { isUpdated, pauseText } from './update.js';

/** The job's state word. */
function stateOf(job: JobState): string {
  const { record } = job;
  if (record.state === 'stopped') return 'stopped';
  if (!record.update) return 'running';
  if (record.update.pause) return 'paused';
  return record.update.rollingBack ? 'rolling-back' : 'updating';
}

/** One pod's line. */
export function podStatus(job: JobState, pod: Pod): PodStatus {
  const report = pod.runtime.report;
  const applied = appliedRevision(report);
  const phase = podPhase(pod);
  const delayed = phase === 'delayed' && report ? report.delayedUntil : 0;
  return {
    podId: pod.record.podId,
    index: pod.record.index,
    agentId: pod.record.agentId,
    hostname: pod.record.hostname,
    taskId: pod.record.taskId,
    phase,
    revision: applied,
    version: applied > 0 ? (job.record.specs[applied]?.package.version ?? '') : '',
    health: report?.health !== undefined && report.health !== '' ? report.health : 'unknown',
    restarts: report?.restarts ?? 0,
    lastExitCode: report?.lastExitCode ?? 0,
    delayedUntil: delayed,
    message:
      pod.record.revision !== applied && pod.record.taskId !== ''
        ? `→ revision ${pod.record.revision}${report?.message ? `; ${report.message}` : ''}`
        : (report?.message ?? ''),
    ports: pod.record.ports,
    updatedAt: pod.runtime.lastPullAt,
  };
}

/** The whole job. */
export function jobStatus(job: JobState, now: number): JobStatus {
  const { record } = job;
  const pods = job.pods();
  const update = record.update;
  const spec = job.spec;
  const healthy = pods.filter((p) => isHealthyAtTarget(p)).length;
  return {
    name: record.name,
    state: stateOf(job),
    replicas: record.state === 'stopped' ? 0 : spec.replicas,
    revision: record.revision,
    version: spec.package.version,
    specJson: JSON.stringify(spec),
    pods: pods.map((p) => podStatus(job, p)),
    update: update && {
      fromRevision: update.from,
      toRevision: update.to,
      updated: pods.filter((p) => isUpdated(p, update.to, job.specOf(update.to).deploy.intervalS, now)).length,
      total: pods.filter((p) => !p.runtime.removing).length,
      failed: update.failed.length,
      paused: update.pause !== undefined,
      pausedReason: update.pause ? pauseText(update.pause) : '',
      rollingBack: update.rollingBack,
      canary: update.canary ?? 0,
      failedPods: [...update.failed],
    },
    pending: pods.some((p) => p.record.taskId === '' && !p.runtime.removing) ? job.pending : [],
    blacklist: Object.entries(record.hostFailures)
      .filter(([, failures]) => failures >= spec.failure.blacklistAfter)
      .map(([host]) => host),
    message: `${healthy}/${spec.replicas} healthy`,
    submittedAt: record.submittedAt,
    owner: ownerOf(record),
  };
}
