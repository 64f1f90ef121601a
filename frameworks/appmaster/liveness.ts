/**
 * The AppMaster's half of the liveness check: the AppWorker restarts a service that fails it in
 * place, and reports how many such restarts fell within the check's window; when they reach
 * `liveness.maxRestarts` restarting does not help, and the pod is replaced with a new container.
 */
import type { Pod } from './model.js';
import type { JobSpec } from './spec/schema.js';

/** True when `pod`'s liveness restarts at its revision (`spec`) reached `maxRestarts`: replace it. */
export function livenessExhausted(pod: Pod, spec: JobSpec): boolean {
  const liveness = spec.liveness;
  const report = pod.runtime.report;
  if (!liveness || !report || pod.runtime.killing || pod.record.taskId === '') return false;
  return report.livenessRestarts >= liveness.maxRestarts;
}
