/**
 * `galaxy master` processes contending through a coordinator, as the benchmark runs them: started
 * from the built CLI, killed with SIGKILL, and all of them killed when the benchmark ends, even when
 * it fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { galaxyCli } from '../../core/paths.js';

/** The built CLI, also when this module runs from source (tests). */

/** One master process. */
export interface MasterProcess {
  readonly address: string;
  readonly child: ChildProcess;
  /** `performance.now()` when it printed that it leads, if it has. */
  readonly ledAt: () => number | undefined;
  /** Its last lines of output, for a report when something goes wrong. */
  readonly tail: () => string[];
  /** Its last error lines (level error or fatal), which the tail's warnings may have pushed out. */
  readonly errors: () => string[];
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop: a `--cpu-prof` profile is written); SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** How else to start it. */
export interface MasterProcessOptions {
  /** Flags for node itself, e.g. `--cpu-prof --cpu-prof-dir <dir>`. */
  readonly nodeArgs?: readonly string[];
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `galaxy master --coordinator <url>` on a free loopback port; resolves with its address once it contends. */
export async function startMasterProcess(
  coordinator: string,
  extra: readonly string[] = [],
  options: MasterProcessOptions = {},
): Promise<MasterProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      galaxyCli(), // found when a master starts, not at import: the CLI imports this module everywhere, pods included
      'master',
      '--listen',
      '127.0.0.1:0',
      '--coordinator',
      coordinator,
      '--allocation-interval',
      '0.1',
      '--agent-reregister-timeout',
      '30',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GALAXY_LOG_LEVEL: 'warn', NO_COLOR: '1' } },
  );
  live.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  const lines: string[] = [];
  const errors: string[] = [];
  let ledAt: number | undefined;
  let contending: (address: string) => void = () => undefined;
  const address = new Promise<string>((resolve, reject) => {
    contending = resolve;
    void exited.then(() => {
      reject(new Error(`galaxy master exited before contending:\n${lines.join('\n')}`));
    });
    setTimeout(() => {
      reject(new Error(`galaxy master did not contend within 60 s:\n${lines.join('\n')}`));
    }, 60_000).unref();
  });
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        if (/"level":(50|60)/.test(line)) {
          errors.push(line);
          if (errors.length > 50) errors.shift();
        }
        const match = /^master (\S+) (contending|leads)/.exec(line);
        if (match?.[2] === 'contending' && match[1] !== undefined) contending(match[1]);
        if (match?.[2] === 'leads') ledAt ??= performance.now();
      }
    });
  }
  try {
    return {
      address: await address,
      child,
      ledAt: () => ledAt,
      tail: () => [...lines],
      errors: () => [...errors],
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
      stop: async (graceMs = 15_000) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Kills every master process still running. */
export async function killAllMasters(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => {
            resolve();
          });
          child.kill('SIGKILL');
        }),
    ),
  );
}
