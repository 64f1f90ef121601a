/**
 * Starts real Galaxy processes from the built CLI (`dist/cli/main.js`) and stops them, even when
 * a test fails.
 */
import { auditedChild, stdoutLogging } from './log-audit.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { UID_CLAIMS_DIR } from '../../agent/containerizer/uid-blocks.js';
import { networkFor } from '../../isolators/tcp/index.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MessageLog } from './async-queue.js';

/** Path of the built `galaxy` entry point. */
export const GALAXY_BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A running `galaxy …` process with its output lines. */
export interface GalaxyProcess {
  readonly child: ChildProcess;
  readonly lines: MessageLog<string>;
  /** Resolves with the exit code when the process exits by itself or is stopped. */
  readonly exited: Promise<number | null>;
  /** Sends a signal and waits for the exit code (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

const running = new Set<GalaxyProcess>();

/**
 * Spawns `node dist/cli/main.js ...args`, collecting stdout and stderr lines. `wrapper` runs it
 * through a command that execs it, e.g. `['prlimit', '--nofile=4096:4096', '--']`.
 */
export function galaxy(args: string[], env: Record<string, string> = {}, wrapper: string[] = []): GalaxyProcess {
  const [command, ...before] = wrapper.length > 0 ? [...wrapper, process.execPath] : [process.execPath];
  const child = auditedChild(
    spawn(command, [...before, GALAXY_BIN, ...args], {
      env: stdoutLogging({ ...process.env, GALAXY_LOG_LEVEL: 'info', NO_COLOR: '1', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const lines = new MessageLog<string>();
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) lines.push(line);
    });
  }
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const proc: GalaxyProcess = {
    child,
    lines,
    exited,
    stop: async (signal = 'SIGTERM', graceMs = 5000) => {
      running.delete(proc);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(proc);
  return proc;
}

/** Stops every process started by {@link galaxy} that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
}

/** A `galaxy master` process without `--coordinator`: its state (users, agents) is in `workDir`. */
export interface MasterProcess {
  readonly proc: GalaxyProcess;
  readonly address: string;
  readonly workDir: string;
  /** The admin token it wrote to `<workDir>/admin.token`. */
  readonly adminToken: string;
  /** Its coordinator, `local:<workDir>/coord` (for join tokens: see `writeJoinToken`). */
  readonly coordinator: string;
}

/**
 * Starts `galaxy master` on a free loopback port with its state in `workDir` (it authenticates:
 * users and agents in `<workDir>/coord`, the admin token in `<workDir>/admin.token`) and resolves
 * its address from its log.
 */
export async function startMasterProcess(workDir: string, extra: string[] = []): Promise<MasterProcess> {
  const { proc, address } = await startMasterWith(['--work-dir', workDir, ...extra]);
  const adminToken = readFileSync(join(workDir, 'admin.token'), 'utf8').trim();
  return { proc, address, workDir, adminToken, coordinator: `local:${join(workDir, 'coord')}` };
}

/**
 * Starts `galaxy master` on a free loopback port with `args` (e.g. `--coordinator <url>`, whose
 * users the caller made) and resolves its address from its log.
 */
export async function startMasterWith(args: string[]): Promise<{ proc: GalaxyProcess; address: string }> {
  const proc = galaxy(['master', '--listen', '127.0.0.1:0', '--allocation-interval', '0.1', ...args]);
  const line = await proc.lines.waitFor((l) => l.includes('"master started"'), 15_000, 'the master to start');
  const address = (JSON.parse(line) as { address: string }).address;
  return { proc, address };
}

/**
 * Pids of live processes whose environment contains `needle` — e.g. `GALAXY_SANDBOX=<dir>`, which
 * finds every task a test's agent started, even after `exec` replaced its command line.
 */
export function processesWithEnv(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle) && isAlive(Number(entry)))
        pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** SIGKILLs every process {@link processesWithEnv} finds. */
export function killWithEnv(needle: string): void {
  for (const pid of processesWithEnv(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** SIGTERMs each child still running, SIGKILLs it after `graceMs`, and waits until all are gone. */
export async function terminateAll(children: readonly ChildProcess[], graceMs = 5000): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exit = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    }),
  );
}

/** True when `pid` runs and is not a zombie (this machine's pid 1 does not reap orphans). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Stops a `galaxy agent` process together with its containers: `galaxy agent shutdown --work-dir`
 * through `master` (with the agent's own credential), then waits for it to exit. A stop signal
 * alone would leave its containers running (by design); when the shutdown cannot be asked for (no
 * master leads, say) the agent gets SIGTERM and the caller kills what is left
 * ({@link killWithEnv}, {@link releaseUidClaims}).
 */
export async function shutdownAgent(
  agent: GalaxyProcess,
  workDir: string,
  master: string,
  env: Record<string, string> = {},
): Promise<void> {
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) return;
  const asked = galaxy(['agent', 'shutdown', '--work-dir', workDir, '--master', master], env);
  const code = await Promise.race([asked.exited, new Promise((resolve) => setTimeout(resolve, 15_000, 'late'))]);
  await asked.stop('SIGKILL');
  if (code === 0) {
    const done = await Promise.race([agent.exited, new Promise((resolve) => setTimeout(resolve, 20_000, 'late'))]);
    if (done !== 'late') return;
  }
  await agent.stop('SIGTERM', 5000);
}

/** Removes the host uid claims of the containers of the agent on `workDir` (after their processes were killed). */
export function releaseUidClaims(workDir: string): void {
  if (!existsSync(UID_CLAIMS_DIR)) return;
  for (const name of readdirSync(UID_CLAIMS_DIR)) {
    const file = join(UID_CLAIMS_DIR, name);
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as { owner?: string }).owner === workDir)
        rmSync(file, { force: true });
    } catch {
      // taken or gone meanwhile
    }
  }
}

/**
 * Removes the network namespaces and nftables tables of the agent whose cgroup root is
 * `cgroupRoot` (the tcp isolator names them all with its prefix), after its containers were killed.
 */
export function removeAgentNetworks(cgroupRoot: string): void {
  const prefix = networkFor(cgroupRoot, 'any', 0).netns.slice(0, -8);
  const quiet = { stdio: 'ignore' } as const;
  try {
    const tables = execFileSync('nft', ['list', 'tables', 'ip'], { encoding: 'utf8' });
    for (const [, name] of tables.matchAll(/^table ip (\S+)$/gm))
      if (name?.startsWith(prefix)) execFileSync('nft', ['delete', 'table', 'ip', name], quiet);
  } catch {
    // no nft, or gone meanwhile
  }
  for (const name of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
    try {
      if (name.startsWith(prefix)) execFileSync('ip', ['netns', 'delete', name], quiet);
    } catch {
      // gone meanwhile
    }
  }
}
