/**
 * Backup and restore of Galaxy's durable state: a round trip through every backend (a local
 * backup restored into ZooKeeper under a cluster secret), elections left out, a non-empty target
 * refused unless replaced, and torn or foreign files refused before anything is written.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useZkEnsemble } from '../../test/helpers/zk-fixture.js';
import { backup, formatBackup, parseBackup, readState, restore } from './backup.js';
import type { Coordinator } from './coordinator.js';
import { LocalCoordinator } from './local.js';
import { MemoryCoordinator } from './memory.js';
import { ZkSecret } from './zookeeper-secret.js';

const zk = useZkEnsemble(1);
let dir = '';
const open: Coordinator[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-backup-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await rm(dir, { recursive: true, force: true });
});

async function local(name: string): Promise<Coordinator> {
  const c = await LocalCoordinator.open(join(dir, name));
  open.push(c);
  return c;
}

/** A cluster's worth of state, and a master's candidacy (ephemeral). */
async function populate(c: Coordinator): Promise<void> {
  await c.put('/galaxy/tenancy/users/alice', '{"name":"alice","tokens":[{"sha256":"ab"}]}');
  await c.put('/galaxy/tenancy/grants/alice', '{"pools":{"default":["job:create"]}}');
  await c.put('/galaxy/appmaster/jobs/web', '{"name":"web","owner":"alice"}');
  await c.put('/galaxy/appmaster/jobs/web/extra', 'child of a key that has a value');
  await c.put('/galaxy/naming/web', '{"user":"alice"}');
  await c.elect('/galaxy/election/master', '10.0.0.1:5050');
}

describe('coordinator backup and restore', () => {
  it('round-trips a local coordinator into ZooKeeper with a cluster secret, leaving elections out', async () => {
    const source = await local('a');
    await populate(source);
    const text = formatBackup(await backup(source));
    const taken = parseBackup(text, 'backup.jsonl');
    expect(taken.entries.map((e) => e.key)).not.toContain('/galaxy/election/master');
    expect(taken.entries.some((e) => e.key.startsWith('/galaxy/election'))).toBe(false);
    expect(taken.entries).toHaveLength(5);

    const target = await zk.open({ secret: new ZkSecret(randomBytes(32)) });
    expect(await restore(target, taken)).toBe(5);
    expect(await readState(target)).toEqual(await readState(source));
    expect((await target.get('/galaxy/appmaster/jobs/web/extra'))?.value).toBe('child of a key that has a value');
  });

  it('refuses a target that holds state, writing nothing; --replace makes it equal to the backup', async () => {
    const source = new MemoryCoordinator();
    open.push(source);
    await populate(source);
    const taken = await backup(source);
    const target = await local('b');
    await target.put('/galaxy/tenancy/users/mallory', '{"name":"mallory"}');
    await expect(restore(target, taken)).rejects.toMatchObject({ code: 'GALAXY_E_COORD_EXISTS' });
    expect((await readState(target)).map((e) => e.key)).toEqual(['/galaxy/tenancy/users/mallory']);
    await restore(target, taken, { replace: true });
    expect(await readState(target)).toEqual(await readState(source));
    expect(await target.get('/galaxy/tenancy/users/mallory')).toBeUndefined();
  });

  it('refuses torn, foreign or out-of-bounds files before writing anything', async () => {
    const source = new MemoryCoordinator();
    open.push(source);
    await populate(source);
    const text = formatBackup(await backup(source));
    const lines = text.trimEnd().split('\n');
    const refused = (bad: string, why: RegExp) => {
      expect(() => parseBackup(bad, 'f')).toThrow(why);
    };
    refused(lines.slice(0, -1).join('\n'), /torn/);
    refused(text.replace('galaxy-coordinator-backup/1', 'other/1'), /format/);
    refused(`${text}{"key":"/etc/passwd","value":"x"}\n`, /outside/);
    refused(`${lines[0] ?? ''}\n{"key":"/galaxy/election/master/c-0000000001","value":"x"}\n`, /outside/);
    refused(`${lines[0] ?? ''}\nnot json\n`, /not JSON/);
    refused(`${lines[0] ?? ''}\n{"key":"/galaxy/x","value":1}\n`, /"value"/);
  });
});
