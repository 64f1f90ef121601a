/**
 * The `tcp` isolator: each container gets its own network namespace, joined to the agent by a
 * veth pair on a private /30, with `tc` token-bucket limits on what it sends and receives. The
 * task's ports are reachable on the agent's address through a proxy in the agent.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { run } from '../../core/exec.js';
import { builtinIsolator, type Container, type ContainerUsage, type Isolator } from '../isolator.js';

/** Containers' addresses: 10.213.0.0/16 cut into /30s (host side .1, container side .2). */
const PREFIX = '10.213';
const SLOTS = 16_384;

/** Names and addresses of one container's network. */
export interface ContainerNetwork {
  readonly netns: string;
  readonly hostIf: string;
  readonly containerIf: string;
  readonly hostIp: string;
  readonly containerIp: string;
  readonly slot: number;
}

function tagOf(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Prefix of the network namespaces of one agent (its cgroup root tags them). */
function netnsPrefix(root: string): string {
  return `galaxy-${tagOf(root, 6)}-`;
}

/** Deterministic names for a container (interface names must stay within 15 characters). */
export function networkFor(root: string, containerId: string, slot: number): ContainerNetwork {
  const tag = tagOf(containerId, 8);
  const base = slot * 4;
  const third = Math.floor(base / 256);
  const fourth = base % 256;
  return {
    netns: `${netnsPrefix(root)}${tag}`,
    hostIf: `gxh${tag}`,
    containerIf: `gxc${tag}`,
    hostIp: `${PREFIX}.${third}.${fourth + 1}`,
    containerIp: `${PREFIX}.${third}.${fourth + 2}`,
    slot,
  };
}

/** A tbf qdisc holding `dev` to `bps` bits per second. */
function tbf(dev: string, bps: number): string[] {
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${bps}bit`, 'burst', '16kb', 'latency', '100ms'];
}

/** Forwards connections on the agent's `port` to the container's address. */
function proxy(port: number, target: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection({ host: target, port });
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => {
      resolve(server);
    });
  });
}

class TcpIsolator implements Isolator {
  readonly name = 'tcp';
  readonly controllers = [] as const;
  private readonly used = new Set<number>();

  constructor(private readonly root: string) {}

  /** Re-adopts the networks of re-attached containers (slots, proxies) and deletes the rest. */
  async recover(containers: readonly Container[]): Promise<void> {
    const known = new Set<string>();
    for (const c of containers) {
      const probe = networkFor(this.root, c.id, 0);
      if (!existsSync(`/run/netns/${probe.netns}`)) continue;
      const address = /inet (\d+)\.(\d+)\.(\d+)\.(\d+)\//.exec(
        await run('ip', ['-o', '-4', 'addr', 'show', 'dev', probe.hostIf]).catch(() => ''),
      );
      if (!address) continue;
      const slot = (Number(address[3]) * 256 + Number(address[4]) - 1) / 4;
      const net = networkFor(this.root, c.id, slot);
      this.used.add(slot);
      c.state.set('tcp.network', net);
      c.state.set('tcp.proxies', await this.proxies(c, net));
      known.add(net.netns);
    }
    const names = existsSync('/run/netns') ? await readdir('/run/netns') : [];
    for (const name of names) {
      if (name.startsWith(netnsPrefix(this.root)) && !known.has(name))
        await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    }
  }

  private async proxies(c: Container, net: ContainerNetwork): Promise<Server[]> {
    const servers: Server[] = [];
    for (const range of c.resources.ports) {
      for (let port = range.begin; port <= range.end; port++) servers.push(await proxy(port, net.containerIp));
    }
    return servers;
  }

  async prepare(c: Container): Promise<void> {
    let slot = 0;
    while (this.used.has(slot) && slot < SLOTS) slot += 1;
    if (slot >= SLOTS) throw new Error('tcp: no free container subnet');
    this.used.add(slot);
    const net = networkFor(this.root, c.id, slot);
    c.state.set('tcp.network', net);
    try {
      const inNs = (...args: string[]) => run('ip', ['netns', 'exec', net.netns, ...args]);
      await run('ip', ['netns', 'add', net.netns]);
      await run('ip', ['link', 'add', net.hostIf, 'type', 'veth', 'peer', 'name', net.containerIf]);
      await run('ip', ['link', 'set', net.containerIf, 'netns', net.netns]);
      await run('ip', ['addr', 'add', `${net.hostIp}/30`, 'dev', net.hostIf]);
      await run('ip', ['link', 'set', net.hostIf, 'up']);
      await inNs('ip', 'addr', 'add', `${net.containerIp}/30`, 'dev', net.containerIf);
      await inNs('ip', 'link', 'set', net.containerIf, 'up');
      await inNs('ip', 'link', 'set', 'lo', 'up');
      await inNs('ip', 'route', 'add', 'default', 'via', net.hostIp);
      // Sending is shaped where packets leave the container; receiving where they leave the host side.
      if (c.limits.netTxBps > 0) await inNs('tc', ...tbf(net.containerIf, c.limits.netTxBps));
      if (c.limits.netRxBps > 0) await run('tc', tbf(net.hostIf, c.limits.netRxBps));
      c.state.set('tcp.proxies', await this.proxies(c, net));
    } catch (error) {
      await this.cleanup(c);
      throw error;
    }
    c.netns = `/run/netns/${net.netns}`;
    c.env.GALAXY_IP = net.containerIp;
    c.env.GALAXY_HOST_IP = net.hostIp;
  }

  async usage(c: Container): Promise<ContainerUsage> {
    const net = c.state.get('tcp.network') as ContainerNetwork | undefined;
    if (!net) return {};
    const stat = async (name: string) =>
      Number(await readFile(`/sys/class/net/${net.hostIf}/statistics/${name}`, 'utf8'));
    // What the host side receives, the container sent.
    return { netTxBytes: await stat('rx_bytes'), netRxBytes: await stat('tx_bytes') };
  }

  async cleanup(c: Container): Promise<void> {
    for (const server of (c.state.get('tcp.proxies') as Server[] | undefined) ?? []) server.close();
    const net = c.state.get('tcp.network') as ContainerNetwork | undefined;
    if (!net) return;
    // Deleting the namespace deletes the container's end of the veth, and with it the host's.
    await run('ip', ['netns', 'delete', net.netns]).catch(() => undefined);
    await run('ip', ['link', 'delete', net.hostIf]).catch(() => undefined);
    this.used.delete(net.slot);
    c.state.delete('tcp.network');
  }
}

/** The plugin: one isolator instance per agent (it hands out subnets). */
export const plugin = builtinIsolator('tcp', (options) => new TcpIsolator(options.root));
export default plugin;
