/**
 * What an AppWorker is told to do next, from its pod's target revision and what it reported.
 * Pure: the pull service calls it on every pull.
 */
import { WorkerAction } from '../../proto/gen/galaxy/v1/appmaster.js';
import { appliedRevision, type JobRecord, type Pod } from './model.js';
import { classifyChange } from './spec/diff.js';

/** The worker's phases during which it is busy and must not be given a new action. */
const BUSY = new Set(['deploying', 'stopping', 'starting']);

/** The next action for `pod` of `job`, and the revision it concerns. */
export function nextAction(job: JobRecord, pod: Pod): { action: WorkerAction; revision: number } {
  const target = pod.record.revision;
  const report = pod.runtime.report;
  const none = { action: WorkerAction.ACTION_NONE, revision: target };
  if (pod.runtime.killing || job.state === 'stopped') return { action: WorkerAction.ACTION_STOP, revision: target };
  if (!report) return { action: WorkerAction.ACTION_DEPLOY, revision: target };
  if (BUSY.has(report.phase)) return none;
  const applied = appliedRevision(report);
  if (applied === 0 || report.revision === 0) return { action: WorkerAction.ACTION_DEPLOY, revision: target };
  if (applied !== target) {
    const before = job.specs[applied];
    const after = job.specs[target];
    if (before && after && classifyChange(before, after).kind === 'reload')
      return { action: WorkerAction.ACTION_RELOAD, revision: target };
    return { action: WorkerAction.ACTION_REBUILD, revision: target };
  }
  if (report.phase === 'deployed' || report.phase === 'stopped')
    return { action: WorkerAction.ACTION_START, revision: target };
  // A failed deploy of another revision left the target running: confirming the target clears it.
  if (report.phase === 'failed') return { action: WorkerAction.ACTION_DEPLOY, revision: target };
  return none;
}
