/**
 * The profile of a container's launch (docs/security.md, "What a launch costs"): with
 * `GALAXY_LAUNCH_TRACE=/abs/file` in the agent's environment, the agent and the native helper
 * (which gets the variable from the agent, never from a task) append one line per step of each
 * launch to that file: `<CLOCK_MONOTONIC µs> <task id> <pid> <step>`. Off (and free) otherwise.
 */
import { appendFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';

/** The trace file, when tracing is on (an absolute path only). */
export const LAUNCH_TRACE_FILE: string | undefined = (() => {
  const file = process.env.GALAXY_LAUNCH_TRACE;
  return file !== undefined && isAbsolute(file) ? file : undefined;
})();

/** Records one step of task `taskId`'s launch (nothing when tracing is off). */
export function traceLaunch(taskId: string, step: string): void {
  if (LAUNCH_TRACE_FILE === undefined) return;
  const micros = process.hrtime.bigint() / 1000n;
  try {
    appendFileSync(LAUNCH_TRACE_FILE, `${micros} ${taskId} ${process.pid} ${step}\n`);
  } catch {
    // A trace that cannot be written is no reason to fail a launch.
  }
}
