/**
 * A real ZooKeeper ensemble for tests: `size` servers (Debian's ZooKeeper, one JVM each) on free
 * loopback ports, with their configuration and data under one fresh temporary directory. Tuned
 * for fast tests (ticks of 500 ms, sessions from 1 s). Every JVM is killed and the directory
 * removed by `stop()`, and, should a test process die without calling it, by an exit hook.
 * Shipped with Galaxy (not under `test/`): the failover benchmark (`bench/failover.ts`) runs on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLASSPATH = '/usr/share/zookeeper/*:/usr/share/java/*:/etc/zookeeper/conf';
/** The servers' heap unless told (enough for tests; a cell's thousands of znodes want more). */
const HEAP_MIB = 256;
const JVM_FLAGS = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dzookeeper.root.logger=INFO,CONSOLE'];
const START_TIMEOUT_MS = 30_000;
const TERM_WAIT_MS = 2_000;

/** One server of an ensemble. */
export interface ZkServer {
  /** Its `myid`, from 1. */
  readonly id: number;
  readonly clientPort: number;
  /** `127.0.0.1:<clientPort>`. */
  readonly address: string;
  /** Its directory: `zoo.cfg`, `data/` and `server.log`. */
  readonly dir: string;
  /** The JVM's pid while it runs. */
  readonly pid: number | undefined;
}

/** A running ensemble; see {@link startZkEnsemble}. */
export interface ZkEnsemble {
  /** Every server's address, comma-separated: what a client connects to. */
  readonly connectString: string;
  readonly servers: readonly ZkServer[];
  /** Stops server `i` (0-based; SIGTERM, then SIGKILL) and waits until its JVM is gone. */
  stopNode(i: number): Promise<void>;
  /** Starts server `i` again; waits until every running server serves, or only until it listens when no quorum can form yet. */
  startNode(i: number): Promise<void>;
  /** Kills every server and removes the ensemble's directory. */
  stop(): Promise<void>;
}

/** JVMs started by this process and not yet reaped, killed on exit whatever happens. */
const live = new Map<number, ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pid of live.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel');
  return address.port;
}

/** Sends a four-letter command to a server; resolves with its answer, or '' if it cannot be reached. */
export async function fourLetter(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      resolve(answer);
    });
  });
}

/** True when the server at `port` is part of a quorum and serves clients. */
async function serving(port: number): Promise<boolean> {
  return /^Mode: (leader|follower|standalone)$/m.test(await fourLetter(port, 'srvr'));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`ZooKeeper ensemble: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Node extends Omit<ZkServer, 'pid'> {
  pid: number | undefined;
  process: ChildProcess | undefined;
}

/** How the servers run. */
export interface ZkEnsembleOptions {
  /**
   * Each server's Java heap, MiB (default 256). A benchmark cell (12,000 agent credentials and
   * megabyte job records rewritten several times a second) exhausts 256 MiB: the server then
   * stalls in collections and every session times out (issue 16).
   */
  readonly heapMib?: number;
}

/** Starts an ensemble of `size` servers and resolves once every one serves. */
export async function startZkEnsemble(size = 3, options: ZkEnsembleOptions = {}): Promise<ZkEnsemble> {
  hookExit();
  const root = await mkdtemp(join(tmpdir(), 'galaxy-zk-'));
  dirs.add(root);
  const nodes: Node[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < size * 3; i++) ports.push(await freePort());
    const peers = Array.from(
      { length: size },
      (_, i) => `server.${i + 1}=127.0.0.1:${ports[3 * i + 1]}:${ports[3 * i + 2]}`,
    );
    for (let i = 0; i < size; i++) {
      const dir = join(root, `node${i + 1}`);
      const clientPort = ports[3 * i] ?? 0;
      await mkdir(join(dir, 'data'), { recursive: true });
      await writeFile(join(dir, 'data', 'myid'), `${i + 1}\n`);
      await writeFile(join(dir, 'zoo.cfg'), config(join(dir, 'data'), clientPort, size > 1 ? peers : []));
      nodes.push({
        id: i + 1,
        clientPort,
        address: `127.0.0.1:${clientPort}`,
        dir,
        process: undefined,
        pid: undefined,
      });
    }
    for (const node of nodes) launch(node, options.heapMib ?? HEAP_MIB);
    for (const node of nodes) await until(`server ${node.id} to serve`, () => serving(node.clientPort));
  } catch (error) {
    await Promise.all(nodes.map(kill));
    await removeDir(root);
    throw error;
  }
  const node = (i: number): Node => {
    const found = nodes[i];
    if (found === undefined) throw new Error(`ZooKeeper ensemble: no server ${i} (there are ${nodes.length})`);
    return found;
  };
  return {
    connectString: nodes.map((n) => n.address).join(','),
    servers: nodes,
    stopNode: (i) => kill(node(i)),
    startNode: async (i) => {
      const target = node(i);
      if (target.process === undefined) launch(target, options.heapMib ?? HEAP_MIB);
      const running = nodes.filter((n) => n.process !== undefined);
      if (running.length * 2 > size) {
        for (const n of running) await until(`server ${n.id} to serve`, () => serving(n.clientPort));
      } else
        await until(
          `server ${target.id} to listen`,
          async () => (await fourLetter(target.clientPort, 'ruok')) === 'imok',
        );
    },
    stop: async () => {
      await Promise.all(nodes.map(kill));
      await removeDir(root);
    },
  };
}

function config(dataDir: string, clientPort: number, peers: string[]): string {
  return [
    'tickTime=500',
    'initLimit=10',
    'syncLimit=5',
    'minSessionTimeout=1000',
    'maxSessionTimeout=60000',
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    // Every client here comes from 127.0.0.1 (a simulated cell's shards too); the default of 60
    // connections per address would refuse them.
    'maxClientCnxns=0',
    '4lw.commands.whitelist=*',
    'forceSync=no',
    'preAllocSize=1024',
    'cnxTimeout=500',
    ...(peers.length > 0 ? ['standaloneEnabled=false', ...peers] : []),
    '',
  ].join('\n');
}

function launch(node: Node, heapMib: number): void {
  const log = createWriteStream(join(node.dir, 'server.log'), { flags: 'a' });
  const child = spawn(
    'java',
    [
      `-Xmx${heapMib}m`,
      ...JVM_FLAGS,
      '-cp',
      CLASSPATH,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      join(node.dir, 'zoo.cfg'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`ZooKeeper ensemble: could not start java for server ${node.id}`);
  live.set(pid, child);
  node.process = child;
  node.pid = pid;
  child.once('exit', () => {
    live.delete(pid);
    if (node.process === child) {
      node.process = undefined;
      node.pid = undefined;
    }
  });
}

/** SIGTERM, then SIGKILL after a short wait; resolves when the JVM has exited. */
async function kill(node: Node): Promise<void> {
  const child = node.process;
  if (child === undefined) return;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else
      child.once('exit', () => {
        resolve();
      });
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), TERM_WAIT_MS);
  await exited;
  clearTimeout(timer);
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
