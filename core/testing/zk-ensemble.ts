/**
 * A real ZooKeeper ensemble for tests: `size` servers (Debian's ZooKeeper, one JVM each) on free
 * loopback ports, with their configuration and data under one fresh temporary directory. Tuned
 * for fast tests (ticks of 500 ms, sessions from 1 s). Every JVM is killed and the directory
 * removed by `stop()`, and, should a test process die without calling it, by an exit hook.
 * Shipped with Galaxy (not under `test/`): the failover benchmark (`bench/failover.ts`) runs on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLASSPATH = '/usr/share/zookeeper/*:/usr/share/java/*:/etc/zookeeper/conf';
/** The servers' heap unless told (enough for tests; a cell's thousands of znodes want more). */
const HEAP_MIB = 256;
/**
 * The election's notification interval doubles while no quorum forms, up to 60 s by default: a
 * server that starts a few seconds late (a loaded machine) can then wait most of a minute for the
 * others to look again. Two seconds keeps a slow start slow, not stuck.
 */
const JVM_FLAGS = [
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Dzookeeper.root.logger=INFO,CONSOLE',
  '-Dzookeeper.fastleader.maxNotificationInterval=2000',
];
const START_TIMEOUT_MS = 30_000;
const TERM_WAIT_MS = 2_000;
/** Fresh ports and a fresh start when a server could not bind its ports (someone took one meanwhile). */
const START_ATTEMPTS = 3;
/**
 * Where ensembles take their ports: below the kernel's ephemeral range (32768–60999), so that no
 * outgoing connection of a busy test run takes a port between our probe and the JVM's bind, and
 * in a block no test gives its daemons.
 */
const PORT_BLOCK = { first: 29_000, last: 30_999 } as const;
const LOG_TAIL_LINES = 15;

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

/** True when a listener can take `port` on the loopback right now. */
async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      resolve(true);
    });
  });
  if (ok) await new Promise((resolve) => server.close(resolve));
  return ok;
}

/** Ports handed out by this process and not yet released: two ensembles of one process never share one. */
const taken = new Set<number>();

/**
 * A loopback port nobody listens on right now, from the ensembles' own block (see {@link PORT_BLOCK}):
 * a random start, then the next bindable port this process has not handed out already.
 */
export async function freePort(): Promise<number> {
  const size = PORT_BLOCK.last - PORT_BLOCK.first + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = PORT_BLOCK.first + ((start + i) % size);
    if (taken.has(port) || !(await bindable(port))) continue;
    taken.add(port);
    return port;
  }
  throw new Error(`ZooKeeper ensemble: no free port in ${PORT_BLOCK.first}-${PORT_BLOCK.last}`);
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

/**
 * Waits until `node` serves. Fails at once, with the tail of the server's log, when a server of
 * `nodes` could not bind a port ({@link PortTaken}: worth fresh ports) or its JVM died; on a
 * timeout the error carries `node`'s log tail too.
 */
async function untilServing(node: Node, nodes: readonly Node[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await serving(node.clientPort)) return;
    for (const n of nodes) {
      const log = await serverLog(n);
      if (/BindException|Address already in use/.test(log))
        throw new PortTaken(`ZooKeeper ensemble: server ${n.id} could not bind its ports:\n${tail(log)}`);
      if (n.died) throw new Error(`ZooKeeper ensemble: server ${n.id} exited while starting:\n${tail(log)}`);
    }
    if (Date.now() > deadline)
      throw new Error(
        `ZooKeeper ensemble: timed out after ${START_TIMEOUT_MS} ms waiting for server ${node.id} to serve:\n${tail(await serverLog(node))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A server's log so far ('' when there is none yet). */
async function serverLog(node: Node): Promise<string> {
  return readFile(join(node.dir, 'server.log'), 'utf8').catch(() => '');
}

/** The last lines of a log. */
function tail(log: string): string {
  return log.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

interface Node extends Omit<ZkServer, 'pid'> {
  pid: number | undefined;
  process: ChildProcess | undefined;
  /** Its JVM exited without being stopped (since it was last launched). */
  died: boolean;
  /** A stop was asked of its JVM. */
  stopping: boolean;
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

/** A start that failed for a reason fresh ports cure: a server could not bind one of its ports. */
class PortTaken extends Error {}

/** Starts an ensemble of `size` servers and resolves once every one serves. */
export async function startZkEnsemble(size = 3, options: ZkEnsembleOptions = {}): Promise<ZkEnsemble> {
  hookExit();
  const heapMib = options.heapMib ?? HEAP_MIB;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(size, heapMib);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** One try at {@link startZkEnsemble}: fresh ports, fresh directory; on failure nothing is left running. */
async function startOnce(size: number, heapMib: number): Promise<ZkEnsemble> {
  const root = await mkdtemp(join(tmpdir(), 'galaxy-zk-'));
  dirs.add(root);
  const nodes: Node[] = [];
  const ports: number[] = [];
  const release = (): void => {
    for (const port of ports) taken.delete(port);
  };
  try {
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
        died: false,
        stopping: false,
      });
    }
    for (const node of nodes) launch(node, heapMib);
    for (const node of nodes) await untilServing(node, nodes);
  } catch (error) {
    await Promise.all(nodes.map(kill));
    await removeDir(root);
    release();
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
      if (target.process === undefined) launch(target, heapMib);
      const running = nodes.filter((n) => n.process !== undefined);
      if (running.length * 2 > size) {
        for (const n of running) await untilServing(n, nodes);
      } else
        await until(
          `server ${target.id} to listen`,
          async () => (await fourLetter(target.clientPort, 'ruok')) === 'imok',
        );
    },
    stop: async () => {
      await Promise.all(nodes.map(kill));
      await removeDir(root);
      release();
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
  node.died = false;
  node.stopping = false;
  child.once('exit', () => {
    live.delete(pid);
    if (node.process === child) {
      node.process = undefined;
      node.pid = undefined;
      node.died = !node.stopping;
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
  node.stopping = true;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), TERM_WAIT_MS);
  await exited;
  clearTimeout(timer);
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
