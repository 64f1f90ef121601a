/**
 * Runs around the whole suite: afterwards, nothing the suite created may be left behind — no
 * cgroup, no mount, no loop device, no network namespace or nftables table, no container's uid claim. What existed before the run (say, a
 * developer's own `galaxy up`) is not the suite's and is ignored.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { findTokens } from '../core/auth/tokens.js';
import { UID_CLAIMS_DIR } from '../agent/containerizer/uid-blocks.js';

const HIERARCHIES = ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/freezer', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/cpu'];

/** Every trace of Galaxy on this machine, as comparable strings. */
function traces(): Set<string> {
  const found = new Set<string>();
  for (const root of HIERARCHIES) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root)) if (name.startsWith('galaxy')) found.add(`cgroup ${root}/${name}`);
  }
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    if (line.includes('galaxy')) found.add(`mount ${line.split(' ')[1] ?? line}`);
  }
  try {
    for (const line of execFileSync('losetup', ['-a'], { encoding: 'utf8' }).split('\n'))
      if (line.includes('galaxy')) found.add(`loop ${line}`);
  } catch {
    // no losetup: nothing to check
  }
  try {
    for (const line of execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n')) {
      const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (name?.startsWith('gxh')) found.add(`veth ${name}`);
    }
  } catch {
    // no iproute2: nothing to check
  }
  try {
    // The tcp isolator's nftables tables (isolators/tcp/nat.ts) are named after their namespaces.
    for (const line of execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n')) {
      const name = /^table \S+ (galaxy\S*)$/.exec(line.trim())?.[1];
      if (name !== undefined) found.add(`nft table ${name}`);
    }
  } catch {
    // no nft: nothing to check
  }
  if (existsSync('/run/netns'))
    for (const name of readdirSync('/run/netns')) if (name.startsWith('galaxy')) found.add(`netns ${name}`);
  // A container's host uid block stays claimed until the container is destroyed (agent/containerizer/uid-blocks.ts).
  if (existsSync(UID_CLAIMS_DIR)) for (const name of readdirSync(UID_CLAIMS_DIR)) found.add(`uid claim ${name}`);
  return found;
}

let before = new Set<string>();

export function setup(): void {
  before = traces();
}

export function teardown(): void {
  const left = [...traces()].filter((t) => !before.has(t));
  if (left.length > 0) {
    // Vitest reports a throw here but keeps exit code 0: set the code so the run fails.
    console.error(`FAIL: the suite left these behind:\n${left.join('\n')}`);
    process.exitCode = 1;
  }
  auditLogs();
}

/**
 * Every process of the suite logged into one file (vitest.config.ts): no token may appear in it.
 * The check only counts when the file holds the logs of the daemons that handled those tokens.
 */
function auditLogs(): void {
  const file = process.env.GALAXY_SUITE_LOG;
  if (!file || !existsSync(file)) return; // a developer watching logs on the terminal, or a partial run
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const leaked = findTokens(text);
  if (leaked.length > 0) {
    console.error(
      `FAIL: ${leaked.length} token(s) appear in the suite's logs (${file}); first: ${leaked[0]?.slice(0, 8)}…`,
    );
    process.exitCode = 1;
    return;
  }
  const components = new Set(lines.map((l) => /"name":"([^"]+)"/.exec(l)?.[1]).filter(Boolean));
  console.error(`log audit: ${lines.length} log lines from ${components.size} components, no token in them`);
  rmSync(file, { force: true });
}
