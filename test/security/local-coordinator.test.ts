/**
 * Attack: another user of the host reading or rewriting the embedded coordinator — the users'
 * token hashes, grants and jobs live there. A real `galaxy master` keeps its state in a `local:`
 * coordinator under a world-readable parent; an unprivileged process (uid 65534, as a task or a
 * stray login would be) tries to list it, read the admin's record and plant an admin of its own.
 * Each is refused by the kernel (the directory is 0700, its files 0600), and nothing changed:
 * the same users, and the master still serves the admin.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorClient } from '../../cli/operator-client.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { UserStore } from '../../core/tenancy/users.js';
import { bootstrapAdminToken } from '../helpers/identity.js';
import { galaxy, type GalaxyProcess } from '../helpers/processes.js';

const run = promisify(execFile);

let base: string;
let dir: string;
let url: string;
let token: string;
let master: GalaxyProcess;
let address: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'galaxy-local-coord-'));
  await chmod(base, 0o755); // anyone may look inside the parent: only the coordinator's own modes protect it
  dir = join(base, 'coord');
  url = `local:${dir}`;
  token = await bootstrapAdminToken(url);
  master = galaxy(['master', '--listen', '127.0.0.1:0', '--coordinator', url], { GALAXY_TOKEN: token });
  const line = await master.lines.waitFor((l) => /^master \S+ contending/.test(l), 30_000, 'the master to contend');
  address = line.split(' ')[1] ?? '';
  await master.lines.waitFor((l) => /^master \S+ leads/.test(l), 30_000, 'the master to lead');
}, 60_000);

afterAll(async () => {
  await master.stop();
  await rm(base, { recursive: true, force: true });
});

/** Runs `script` with sh as uid and gid 65534, no groups; resolves with its exit code and stderr. */
async function asNobody(script: string): Promise<{ code: number; stderr: string }> {
  try {
    await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script]);
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
}

async function users(): Promise<unknown> {
  const coordinator = await openCoordinator(url);
  try {
    const store = await UserStore.open(coordinator);
    try {
      return await store.list();
    } finally {
      store.close();
    }
  } finally {
    await coordinator.close();
  }
}

describe('another user of the host', () => {
  it('can neither list, read nor write the local coordinator', async () => {
    const before = await users();
    const admin = join(dir, 'tree', 'galaxy', 'tenancy', 'users', 'admin', '#value');
    const mallory = join(dir, 'tree', 'galaxy', 'tenancy', 'users', 'mallory');
    for (const attack of [
      `ls ${dir}`,
      `cat '${admin}'`,
      `mkdir -p '${mallory}' && echo '{"name":"mallory","admin":true,"tokens":[]}' > '${mallory}/#value'`,
      `echo '{}' > '${admin}'`,
    ]) {
      const { code, stderr } = await asNobody(attack);
      expect(code, attack).not.toBe(0);
      expect(stderr, attack).toMatch(/Permission denied/);
    }
    expect(await users()).toEqual(before);
    const op = operatorClient(address, token);
    try {
      expect(await op.getWeights({}).then((r) => r.weights)).toEqual(expect.any(Array));
    } finally {
      op.close();
    }
  });
});
