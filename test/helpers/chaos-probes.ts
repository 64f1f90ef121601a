/**
 * What the chaos tests observe from outside the cluster, without asking Galaxy: whether a process
 * still runs, what a pod's service answers over HTTP, which task processes really run on an agent,
 * and which process holds which ZooKeeper session (from the servers' `cons` and this machine's
 * sockets).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { GalaxyProcess } from './processes.js';
import { processesWithEnv } from './processes.js';
import { fourLetter, type ZkServer } from './zk-ensemble.js';

/** True while the process has not exited. */
export function running(proc: GalaxyProcess): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

/** The process's exit code once it exits, or `running` if it still runs after `timeoutMs`. */
export async function exitWithin(proc: GalaxyProcess, timeoutMs: number): Promise<number | null | 'running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'running'>((resolve) => {
    timer = setTimeout(() => {
      resolve('running');
    }, timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a pod's hello service answers on `/`, or undefined when it does not answer. */
export async function served(port: number): Promise<{ version: string; pid: number } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as { version: string; pid: number }) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the hello service on every one of `ports` answers now. */
export async function allServe(ports: readonly number[]): Promise<boolean> {
  return (await Promise.all(ports.map((p) => served(p)))).every((answer) => answer !== undefined);
}

/** The pods that run and pass their health check. */
export function healthyPods(job: JobStatus): JobStatus['pods'] {
  return job.pods.filter((p) => p.phase === 'running' && p.health === 'healthy');
}

/** Sorted container (task) ids of the job's pods. */
export function containersOf(job: JobStatus): string[] {
  return job.pods.map((p) => p.taskId).sort();
}

/** One environment variable of a live process, if it has it. */
function envOf(pid: number, name: string): string | undefined {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, 'latin1')
      .split('\0')
      .find((e) => e.startsWith(`${name}=`));
    return entry?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

/**
 * Sorted ids of the tasks that have live processes under the agent work directory `agentDir`
 * (every task process carries `GALAXY_SANDBOX` and `GALAXY_TASK_ID`): the containers that really run.
 */
export function runningTaskIds(agentDir: string): string[] {
  const ids = new Set<string>();
  for (const pid of processesWithEnv(`GALAXY_SANDBOX=${agentDir}`)) {
    const id = envOf(pid, 'GALAXY_TASK_ID');
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort();
}

/** The inode of the IPv4 TCP socket whose local port is `port`, from `/proc/net/tcp`. */
function socketInode(port: number): string | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(hex)) return fields[9];
  }
  return undefined;
}

/** True when process `pid` holds the socket `inode`. */
function holdsSocket(pid: number, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * The ZooKeeper sessions connected to the running `servers` now, by session id, each with the name
 * of the first of `owners` whose process holds its socket (`other` when none does).
 */
export async function zkSessions(
  servers: readonly ZkServer[],
  owners: readonly (readonly [name: string, pid: number | undefined])[],
): Promise<Map<string, string>> {
  const sessions = new Map<string, string>();
  for (const server of servers) {
    if (server.pid === undefined) continue;
    const connections = (await fourLetter(server.clientPort, 'cons')).matchAll(
      /:(\d+)\[\d+\]\([^)]*sid=(0x[0-9a-f]+)/g,
    );
    for (const [, port, sid] of connections) {
      const inode = socketInode(Number(port));
      const owner = owners.find(([, pid]) => pid !== undefined && inode !== undefined && holdsSocket(pid, inode));
      sessions.set(sid ?? '', owner?.[0] ?? 'other');
    }
  }
  return sessions;
}

/** Runs `sample` every `everyMs` until the returned function is called; that resolves with every sample. */
export function sampling<T>(sample: () => Promise<T>, everyMs = 250): () => Promise<T[]> {
  const samples: T[] = [];
  const state = { on: true };
  const loop = (async () => {
    while (state.on) {
      samples.push(await sample());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    state.on = false;
    await loop;
    return samples;
  };
}
