/**
 * Several "hosts" on this machine for tests that need a network between them: a private bridge
 * on the real host, and per host a network namespace joined to it by a veth pair, with its own
 * address and a default route via the bridge. Taking a host's link down partitions it from
 * everything else; its processes keep running.
 *
 * Names follow the conventions `test/global-setup.ts` checks (network namespaces `galaxy-…`,
 * links `gxh…`), so anything left behind fails the run. `stop()` removes everything, and so does
 * an exit hook should a test process end without calling it.
 */
import { auditedChild, stdoutLogging } from './log-audit.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { networkInterfaces } from 'node:os';

/** One host: a network namespace behind a veth on the bridge. */
export interface Host {
  /** The network namespace (`/run/netns/<name>`). */
  readonly name: string;
  /** Its address on the bridge's /24. */
  readonly address: string;
  /**
   * Starts `argv` inside the host's network namespace, with `env` added to this process's
   * environment; stdout and stderr are pipes. Only the network namespace changes (`nsenter
   * --net`): `ip netns exec` would also remount /sys, hiding the cgroup hierarchies an agent needs.
   */
  exec(argv: readonly string[], env?: Record<string, string>): ChildProcess;
  /** Cuts the host off: its bridge-side veth goes down. Packets are dropped, not refused. */
  partition(): void;
  /** Undoes {@link partition}. */
  heal(): void;
}

/** The bridge and its hosts; see {@link startHosts}. */
export interface Hosts {
  /** The bridge's address on the host, reachable from every host that is not partitioned. */
  readonly bridgeAddress: string;
  readonly hosts: readonly Host[];
  /** SIGKILLs every process still in a host's namespace, then removes the namespaces, veths and bridge. */
  stop(): Promise<void>;
}

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** What must go, whatever happens: namespaces and links created by this process. */
const created = { netns: new Set<string>(), links: new Set<string>() };
let hooked = false;

/** Removes every namespace and link this process created (synchronously: it also runs on exit). */
function removeAll(): void {
  for (const ns of created.netns) {
    killNamespace(ns);
    try {
      ip('netns', 'delete', ns);
    } catch {
      // already gone
    }
    created.netns.delete(ns);
  }
  for (const link of created.links) {
    try {
      ip('link', 'delete', link);
    } catch {
      // already gone: a veth goes with its peer's namespace
    }
    created.links.delete(link);
  }
}

/** SIGKILLs every process whose network namespace is `ns`. */
function killNamespace(ns: string): void {
  let pids: string[];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return; // no such namespace
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A /24 under 10.215 that no interface of this machine uses yet; returns its first three octets. */
function freeSubnet(): string {
  const used = execFileSync('ip', ['-o', '-4', 'addr'], { encoding: 'utf8' });
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const prefix = `10.215.${randomInt(256)}`;
    if (!used.includes(` ${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.215.x.0/24 on this machine');
}

/** Creates the bridge and `n` hosts on it (synchronously: a few `ip` commands). */
export function startHosts(n: number): Hosts {
  if (n < 1 || n > 200) throw new Error(`startHosts: n must be 1..200, got ${n}`);
  if (!hooked) {
    hooked = true;
    process.on('exit', removeAll);
  }
  const tag = randomBytes(2).toString('hex');
  const prefix = freeSubnet();
  const bridge = `gxh${tag}br`;
  const bridgeAddress = `${prefix}.1`;
  const children = new Set<ChildProcess>();
  const hosts: Host[] = [];
  try {
    created.links.add(bridge);
    ip('link', 'add', 'name', bridge, 'type', 'bridge');
    ip('addr', 'add', `${bridgeAddress}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (let i = 0; i < n; i += 1) hosts.push(addHost(tag, i, prefix, bridge, bridgeAddress, children));
  } catch (error) {
    removeAll();
    throw error;
  }
  return {
    bridgeAddress,
    hosts,
    async stop() {
      const exits = [...children]
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map((c) => once(c, 'exit'));
      removeAll();
      await Promise.all(exits);
    },
  };
}

/** Host `i`: namespace, veth pair (one end on the bridge), address, loopback and default route. */
function addHost(
  tag: string,
  i: number,
  prefix: string,
  bridge: string,
  gateway: string,
  children: Set<ChildProcess>,
): Host {
  const name = `galaxy-hosts-${tag}-${i}`;
  const outside = `gxh${tag}h${i}`;
  const inside = `gxh${tag}n${i}`;
  const address = `${prefix}.${10 + i}`;
  created.netns.add(name);
  ip('netns', 'add', name);
  created.links.add(outside);
  ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
  ip('link', 'set', inside, 'netns', name);
  ip('link', 'set', outside, 'master', bridge);
  ip('link', 'set', outside, 'up');
  ip('-n', name, 'link', 'set', 'lo', 'up');
  ip('-n', name, 'link', 'set', inside, 'name', 'eth0');
  ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
  ip('-n', name, 'link', 'set', 'eth0', 'up');
  ip('-n', name, 'route', 'add', 'default', 'via', gateway);
  return {
    name,
    address,
    exec(argv, env = {}) {
      const child = auditedChild(
        spawn('nsenter', [`--net=/run/netns/${name}`, '--', ...argv], {
          env: stdoutLogging({ ...process.env, ...env }),
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    partition() {
      ip('link', 'set', outside, 'down');
    },
    heal() {
      ip('link', 'set', outside, 'up');
    },
  };
}

/**
 * This machine's first IPv4 address that is neither loopback nor a container's (10.213/16): the
 * agent's address on the network, which containers in their own network namespaces can reach.
 */
export function machineAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal && !a.address.startsWith('10.213.'));
  if (!found) throw new Error('this machine has no IPv4 address besides loopback');
  return found.address;
}
