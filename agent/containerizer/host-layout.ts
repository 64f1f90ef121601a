/**
 * What of the host every container sees, found once per agent: the system directories (bound
 * read-only, or the same symlinks on a merged-/usr host), a generated minimal /etc, and Galaxy's
 * own files, so that the AppWorker and the framework workers (Node) run inside. Nothing here is
 * secret: the generated /etc holds no password hashes, no keys and no host users.
 */
import { realpathSync } from 'node:fs';
import { cp, lstat, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { isUnder, neverAllowed } from '../../core/host-paths.js';
import type { HostLayout, SystemEntry } from './root-plan.js';

/** The host's directories of programs and libraries. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** Host files of /etc copied as they are: links and lookups programs need, nothing secret. */
const ETC_COPIED = [
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'alternatives',
  'ssl/certs',
  'services',
  'protocols',
  'mime.types',
];

/** Container users: root (the AppWorker, batch tasks), galaxy (a pod's service), nobody. */
const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'galaxy:x:1000:1000:Galaxy service:/tmp:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
];
const GROUP = ['root:x:0:', 'tty:x:5:', 'galaxy:x:1000:', 'nogroup:x:65534:'];
const NSSWITCH = [
  'passwd: files',
  'group: files',
  'shadow: files',
  'hosts: files dns',
  'networks: files',
  'protocols: files',
  'services: files',
];

/** The system directories as they are on this host (missing ones are left out). */
async function systemEntries(): Promise<SystemEntry[]> {
  const out: SystemEntry[] = [];
  for (const path of SYSTEM_DIRS) {
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    if (info.isSymbolicLink()) out.push({ path, symlink: await readlink(path) });
    else if (info.isDirectory()) out.push({ path });
  }
  return out;
}

/** Writes the containers' /etc into `dir` (replacing what an earlier agent run wrote). */
async function generateEtc(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const lines = (list: readonly string[]) => `${list.join('\n')}\n`;
  const name = hostname();
  await writeFile(join(dir, 'passwd'), lines(PASSWD));
  await writeFile(join(dir, 'group'), lines(GROUP));
  await writeFile(join(dir, 'nsswitch.conf'), lines(NSSWITCH));
  await writeFile(join(dir, 'hostname'), `${name}\n`);
  await writeFile(
    join(dir, 'hosts'),
    lines(['127.0.0.1 localhost', `127.0.1.1 ${name}`, '::1 localhost ip6-localhost ip6-loopback']),
  );
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await writeFile(join(dir, 'resolv.conf'), resolv);
  for (const entry of ETC_COPIED) {
    const target = join(dir, entry);
    await mkdir(dirname(target), { recursive: true });
    await cp(join('/etc', entry), target, { recursive: true, verbatimSymlinks: true }).catch(() => undefined);
  }
}

/**
 * Galaxy's own files, bound read-only at their host paths: Node's install prefix unless it is in
 * a system directory, and the package's dist, node_modules and package.json (not the package
 * directory itself, which may hold a `galaxy up` work directory with its tokens).
 */
function galaxyPaths(system: readonly SystemEntry[], workDir: string): string[] {
  const inSystem = (path: string) => system.some((entry) => isUnder(path, entry.path));
  const root = packageRoot();
  const prefix = dirname(dirname(process.execPath));
  const paths = [prefix, join(root, 'dist'), join(root, 'node_modules'), join(root, 'package.json')];
  // Never `/` (a Node at /bin/node), never anything holding the agent's work directory.
  return paths.filter((path) => !inSystem(path) && neverAllowed(path, workDir) === undefined);
}

/** Finds the host layout and writes the generated /etc under `runtimeDir` (in the agent's `workDir`). */
export async function prepareHostLayout(runtimeDir: string, workDir: string): Promise<HostLayout> {
  const system = await systemEntries();
  const etc = join(runtimeDir, 'etc');
  await generateEtc(etc);
  const node = realpathSync(process.execPath);
  const nodeInSystem = system.some((entry) => isUnder(node, entry.path) || isUnder(process.execPath, entry.path));
  return { system, etc, galaxy: galaxyPaths(system, workDir), ...(nodeInSystem ? { node } : {}) };
}
