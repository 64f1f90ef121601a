/**
 * `galaxy up`: a master, an agent and the example framework in one process, on the embedded
 * default. Prints a line starting with `ready` once the example's tasks have all finished,
 * then serves until Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startAgent } from '../agent/index.js';
import { createLogger } from '../core/logger.js';
import { startMaster } from '../master/master.js';
import { runSleepers } from '../examples/frameworks/sleepers.js';

/** Options of `galaxy up`. */
export interface UpOptions {
  readonly listen: string;
  readonly workDir: string;
  readonly tasks: number;
  readonly resources?: string;
  /** `auto`: cpu,memory,pids containers when root with cgroups, else plain processes. */
  readonly isolation?: string;
  readonly logLevel?: string;
}

/** What `--isolation auto` means on this machine. */
export function autoIsolation(): string {
  const root = process.getuid?.() === 0;
  const cgroups = existsSync('/sys/fs/cgroup/memory/cgroup.procs') || existsSync('/sys/fs/cgroup/cgroup.controllers');
  return root && cgroups && existsSync('/usr/bin/unshare') ? 'cpu,memory,pids' : '';
}

/** Runs the single-machine cluster until `stopSignal` resolves. */
export async function runUp(options: UpOptions, stopSignal: Promise<string>): Promise<void> {
  // Daemons log at warn so the terminal shows the story, not the trace; GALAXY_LOG_LEVEL overrides.
  const logLevel = options.logLevel ?? 'warn';
  const workDir = resolve(options.workDir);
  await mkdir(workDir, { recursive: true });
  const master = await startMaster({ listen: options.listen, logLevel, timings: { allocationIntervalMs: 500 } });
  const agent = await startAgent({
    master: master.address,
    workDir: resolve(workDir, 'agent'),
    resources: options.resources,
    isolation: options.isolation === undefined || options.isolation === 'auto' ? autoIsolation() : options.isolation,
    logLevel,
  });
  const how = agent.containerized ? 'Linux containers' : 'plain processes';
  console.log(
    `master listening on ${master.address}; agent working in ${resolve(workDir, 'agent')}; tasks run as ${how}`,
  );
  const example = runSleepers({
    master: master.address,
    count: options.tasks,
    logger: createLogger('sleepers', logLevel),
  });
  const shutdown = async (): Promise<void> => {
    await example.driver.stop();
    await agent.stop();
    await master.stop();
  };
  const outcome = await Promise.race([
    example.done.then((summary) => ({ summary })),
    stopSignal.then((signal) => ({ signal })),
  ]);
  if ('signal' in outcome) {
    await shutdown();
    return;
  }
  const { summary } = outcome;
  console.log(
    `ready: master ${master.address}, 1 agent, example framework ran ${options.tasks} tasks ` +
      `(${summary.finished} finished, ${summary.failed} failed). Try \`galaxy tasks\` in another terminal; Ctrl-C stops.`,
  );
  await stopSignal;
  await shutdown();
}
