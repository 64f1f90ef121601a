/**
 * The kernel's half of a container's network: one nftables table per container that publishes its
 * ports on the agent's addresses (DNAT), lets it reach other hosts (masquerade), and keeps it from
 * the agent's loopback. The rules live in the kernel, not in the agent, so published ports keep
 * answering while the agent restarts (docs/security.md, "Networks").
 */
import { execFile } from 'node:child_process';
import { GalaxyError } from '../../core/errors.js';
import type { Range } from '../../proto/gen/galaxy/v1/common.js';

/** What the ruleset of one container needs. */
export interface NatTarget {
  /** The table's name (the container's network namespace name: unique per agent and container). */
  readonly table: string;
  /** The host side of the container's veth pair. */
  readonly hostIf: string;
  /** The container's own address. */
  readonly containerIp: string;
  /** Ports published on the agent's addresses, TCP and UDP. */
  readonly ports: readonly Range[];
}

/** A name nft and the kernel accept as an identifier (ours are hex and dashes; anything else is a bug). */
function checked(name: string, what: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(name)) throw new Error(`tcp: ${what} "${name}" is not a plain name`);
  return name;
}

function checkedIp(ip: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new Error(`tcp: "${ip}" is not an IPv4 address`);
  return ip;
}

/** `{ 31000-31009, 31020 }`, or undefined when nothing is published. */
function portSet(ports: readonly Range[]): string | undefined {
  const items = ports.map((r) => {
    if (!(Number.isInteger(r.begin) && Number.isInteger(r.end) && r.begin >= 1 && r.end <= 65_535 && r.begin <= r.end))
      throw new Error(`tcp: port range ${r.begin}-${r.end} is not within 1-65535`);
    return r.begin === r.end ? String(r.begin) : `${r.begin}-${r.end}`;
  });
  return items.length === 0 ? undefined : `{ ${items.join(', ')} }`;
}

/**
 * The nft script that creates a container's table (and replaces an older one of the same name,
 * in the same transaction). Why each rule:
 *
 * - `guard` (before routing): a packet from the container for 127.0.0.0/8 is dropped. The host side
 *   needs `route_localnet` so that the agent's own loopback clients can reach a published port,
 *   and that would also let the container address the agent's loopback services; and a container
 *   sends only from its own address, so it cannot pose as another.
 * - `publish` / `publish-local`: connections to a published port on any of the agent's addresses,
 *   from other hosts (prerouting) and from the agent's machine itself (output), go to the container.
 * - `outbound`: what leaves for other hosts (or comes back to the container itself) carries the
 *   agent's address; the agent's loopback clients appear as the host side of the veth.
 */
export function natRuleset(target: NatTarget): string {
  const table = checked(target.table, 'table');
  const hostIf = checked(target.hostIf, 'interface');
  const ip = checkedIp(target.containerIp);
  const ports = portSet(target.ports);
  const publish =
    ports === undefined
      ? ''
      : `    fib daddr type local meta l4proto { tcp, udp } th dport ${ports} dnat ip to ${ip}\n`;
  return (
    // `add` then `delete` then the table: the delete never fails, and nothing stale survives.
    `add table ip ${table}\n` +
    `delete table ip ${table}\n` +
    `table ip ${table} {\n` +
    `  chain guard {\n` +
    `    type filter hook prerouting priority raw; policy accept;\n` +
    `    iifname "${hostIf}" ip daddr 127.0.0.0/8 drop\n` +
    `    iifname "${hostIf}" ip saddr != ${ip} drop\n` +
    `  }\n` +
    `  chain publish {\n` +
    `    type nat hook prerouting priority dstnat; policy accept;\n` +
    publish +
    `  }\n` +
    `  chain publish-local {\n` +
    `    type nat hook output priority -100; policy accept;\n` +
    publish +
    `  }\n` +
    `  chain outbound {\n` +
    `    type nat hook postrouting priority srcnat; policy accept;\n` +
    `    oifname "${hostIf}" ip saddr 127.0.0.0/8 masquerade\n` +
    `    oifname "${hostIf}" ip saddr ${ip} masquerade\n` +
    `    ip saddr ${ip} oifname != "${hostIf}" masquerade\n` +
    `  }\n` +
    `}\n`
  );
}

/** Runs `nft -f -` with `script` on its standard input. */
function nft(args: readonly string[], script?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', [...args], { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new GalaxyError(
          'GALAXY_E_LAUNCH_FAILED',
          missing
            ? 'the tcp isolator needs nftables: install it (Debian: apt-get install nftables) or leave tcp out of --isolation'
            : `nft ${args.join(' ')} failed: ${stderr.trim() || error.message}`,
        ),
      );
    });
    child.stdin?.end(script ?? '');
  });
}

/** Creates (or replaces) a container's table. */
export async function applyNat(target: NatTarget): Promise<void> {
  await nft(['-f', '-'], natRuleset(target));
}

/** Deletes a container's table; a table that is not there is not an error. */
export async function removeNat(table: string): Promise<void> {
  await nft(['-f', '-'], `add table ip ${checked(table, 'table')}\ndelete table ip ${table}\n`);
}

/** Names of the ip tables that start with `prefix`. */
export async function natTables(prefix: string): Promise<string[]> {
  const listed = await nft(['list', 'tables', 'ip']);
  return [...listed.matchAll(/^table ip (\S+)$/gm)].map((m) => m[1] ?? '').filter((name) => name.startsWith(prefix));
}
