/**
 * The `tcp` isolator (the network isolator): each container gets its own network namespace,
 * joined to the agent by a veth pair on a private /30, with `tc` token-bucket limits on what it
 * sends and receives. Its ports are published on the agent's addresses and it reaches other hosts
 * through NAT, by nftables rules in the kernel (`nat.ts`), so they outlive an agent restart; it
 * cannot reach the agent's loopback services.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { run } from '../../core/exec.js';
import { applyNat, natTables, removeNat } from './nat.js';
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

/** Writes a sysctl of the host's network namespace. */
async function sysctl(path: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/net/${path}`, value);
}

class TcpIsolator implements Isolator {
  readonly name = 'tcp';
  readonly controllers = [] as const;
  private readonly used = new Set<number>();

  constructor(private readonly root: string) {}

  /**
   * Re-adopts the networks of re-attached containers (their slots; their rules stayed in the
   * kernel and are rewritten) and deletes every namespace, veth and table of this agent that
   * belongs to none of them.
   */
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
      known.add(net.netns);
      // Rewritten in one transaction, so an upgraded agent's rules replace an older one's; the
      // connections they carry are conntrack's and go on. Should that fail, the old rules stay.
      await applyNat({
        table: net.netns,
        hostIf: net.hostIf,
        containerIp: net.containerIp,
        ports: c.resources.ports,
      }).catch(() => undefined);
    }
    const prefix = netnsPrefix(this.root);
    const names = existsSync('/run/netns') ? await readdir('/run/netns') : [];
    for (const name of names) {
      if (name.startsWith(prefix) && !known.has(name))
        await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    }
    for (const table of await natTables(prefix).catch(() => [])) {
      if (!known.has(table)) await removeNat(table).catch(() => undefined);
    }
    // Their veths went with their namespaces (deleting one end of a pair deletes the other).
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
      // IPv4 only: no link-local IPv6 path to the agent's services on either end.
      await sysctl(`ipv6/conf/${net.hostIf}/disable_ipv6`, '1');
      await inNs('sysctl', '-q', '-w', `net.ipv6.conf.${net.containerIf}.disable_ipv6=1`);
      await run('ip', ['addr', 'add', `${net.hostIp}/30`, 'dev', net.hostIf]);
      // The agent's own loopback clients reach published ports through this side (nat.ts guards it).
      await sysctl(`ipv4/conf/${net.hostIf}/route_localnet`, '1');
      await run('ip', ['link', 'set', net.hostIf, 'up']);
      await inNs('ip', 'addr', 'add', `${net.containerIp}/30`, 'dev', net.containerIf);
      await inNs('ip', 'link', 'set', net.containerIf, 'up');
      await inNs('ip', 'link', 'set', 'lo', 'up');
      await inNs('ip', 'route', 'add', 'default', 'via', net.hostIp);
      // Sending is shaped where packets leave the container; receiving where they leave the host side.
      if (c.limits.netTxBps > 0) await inNs('tc', ...tbf(net.containerIf, c.limits.netTxBps));
      if (c.limits.netRxBps > 0) await run('tc', tbf(net.hostIf, c.limits.netRxBps));
      await applyNat({ table: net.netns, hostIf: net.hostIf, containerIp: net.containerIp, ports: c.resources.ports });
      // NAT to other hosts needs the host to forward (as Docker's daemon turns it on).
      await sysctl('ipv4/ip_forward', '1');
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

  /** Removes the table, the namespace and the veth; each step runs even when an earlier one failed. */
  async cleanup(c: Container): Promise<void> {
    const net = c.state.get('tcp.network') as ContainerNetwork | undefined;
    if (!net) return;
    await removeNat(net.netns).catch(() => undefined);
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
