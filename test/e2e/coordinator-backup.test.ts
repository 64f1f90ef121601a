/**
 * An operator backs up a running master's state with the CLI, loses the machine, restores the
 * backup into a fresh coordinator and starts a master on it: the users (and the admin's token)
 * are back, and a second restore over live state is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GALAXY_BIN, startMasterProcess, startMasterWith, stopAll } from '../helpers/processes.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-coord-backup-'));
});
afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[], token?: string): string =>
  execFileSync(process.execPath, [GALAXY_BIN, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...(token === undefined ? {} : { GALAXY_TOKEN: token }) },
  });

describe('galaxy coordinator backup|restore', () => {
  it('brings a master back with its users from a backup, and refuses to restore over live state', async () => {
    const first = await startMasterProcess(join(dir, 'a'));
    cli(['user', 'add', 'alice', '--master', first.address], first.adminToken);
    await first.proc.stop('SIGTERM');
    const file = join(dir, 'state.jsonl');
    cli(['coordinator', 'backup', '--coordinator', first.coordinator, '-o', file]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const restored = `local:${join(dir, 'b', 'coord')}`;
    cli(['coordinator', 'restore', file, '--coordinator', restored]);
    const second = await startMasterWith(['--coordinator', restored]);
    const users = cli(['user', 'list', '--master', second.address, '-o', 'json'], first.adminToken);
    expect((JSON.parse(users) as { name: string }[]).map((u) => u.name).sort()).toEqual(['admin', 'alice']);

    expect(() => cli(['coordinator', 'restore', file, '--coordinator', restored])).toThrow(/already holds/);
  });
});
