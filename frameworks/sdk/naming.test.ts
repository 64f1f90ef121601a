/**
 * Naming on the memory and local coordinators: what the AppMaster publishes is what clients
 * resolve, sorted, and a watch sees every change; entries belong to the job that first published
 * them, so another user's job cannot publish, withdraw or be resolved under them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { LocalCoordinator } from '../../core/coordinator/local.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { isGalaxyError } from '../../core/errors.js';
import { eventually } from '../../test/helpers/async-queue.js';
import {
  claimNaming,
  namingOwner,
  publishEndpoints,
  resolve,
  watchEndpoints,
  withdrawEndpoints,
  withdrawJob,
  type Endpoint,
  type NamingOwner,
} from './naming.js';

const ALICE: NamingOwner = { user: 'alice', uid: 'web-1st' };

function endpoint(podId: string, service: string, port: number, healthy = true): Endpoint {
  return { service, job: 'web', podId, host: `host-${podId}`, port, healthy };
}

const backends: { name: string; open: () => Promise<{ coord: Coordinator; cleanup: () => Promise<void> }> }[] = [
  {
    name: 'memory',
    open: () => Promise.resolve({ coord: new MemoryCoordinator(), cleanup: () => Promise.resolve() }),
  },
  {
    name: 'local',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'galaxy-naming-'));
      const coord = await LocalCoordinator.open(dir);
      return {
        coord,
        cleanup: async () => {
          await coord.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

describe.each(backends)('naming on the $name coordinator', (backend) => {
  let coord: Coordinator;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ coord, cleanup } = await backend.open());
  });

  afterEach(async () => {
    await cleanup();
  });

  it('resolves published endpoints sorted by service, pod and port, filtered by service', async () => {
    await publishEndpoints(
      coord,
      'web',
      'web-2',
      [endpoint('web-2', 'http', 8080), endpoint('web-2', 'admin', 9000)],
      ALICE,
    );
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 8081, false)], ALICE);
    await publishEndpoints(coord, 'other', 'o-1', [{ ...endpoint('o-1', 'http', 1), job: 'other' }], ALICE);
    expect(await resolve(coord, 'web')).toEqual([
      endpoint('web-2', 'admin', 9000),
      endpoint('web-1', 'http', 8081, false),
      endpoint('web-2', 'http', 8080),
    ]);
    expect(await resolve(coord, 'web', 'admin')).toEqual([endpoint('web-2', 'admin', 9000)]);
    expect(await coord.get('/galaxy/naming/web/web-1')).toEqual({
      value: JSON.stringify({ publisher: 'web-1st', endpoints: [endpoint('web-1', 'http', 8081, false)] }),
      version: 0,
    });
    expect(await resolve(coord, 'nobody')).toEqual([]);
  });

  it('withdraws one pod, then the whole job', async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)], ALICE);
    await publishEndpoints(coord, 'web', 'web-2', [endpoint('web-2', 'http', 2)], ALICE);
    await withdrawEndpoints(coord, 'web', 'web-1', ALICE);
    expect(await resolve(coord, 'web')).toEqual([endpoint('web-2', 'http', 2)]);
    await withdrawJob(coord, 'web', ALICE);
    expect(await resolve(coord, 'web')).toEqual([]);
    expect(await coord.list('/galaxy/naming')).toEqual([]);
  });

  it('skips an entry that is not naming JSON instead of failing the whole job', async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)], ALICE);
    await coord.put('/galaxy/naming/web/broken', 'not json');
    await coord.put('/galaxy/naming/web/wrong', JSON.stringify({ publisher: 'web-1st', endpoints: [{ port: 'x' }] }));
    expect(await resolve(coord, 'web')).toEqual([endpoint('web-1', 'http', 1)]);
  });

  it('refuses bad job names and bad endpoints', async () => {
    for (const attempt of [
      resolve(coord, '../etc'),
      publishEndpoints(coord, 'web', 'a/b', [], ALICE),
      publishEndpoints(coord, 'web', 'p', [{ ...endpoint('p', 'http', 1), port: 70000 }], ALICE),
    ]) {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, String(error)).toBeDefined();
    }
    const bad = await resolve(coord, '../etc').catch((e: unknown) => e);
    expect(isGalaxyError(bad, 'GALAXY_E_INVALID_ARGUMENT')).toBe(true);
  });

  it("belongs to the job that first published it: another user's job is refused and changes nothing", async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)], ALICE);
    const before = await coord.get('/galaxy/naming/web');
    expect(await namingOwner(coord, 'web')).toEqual(ALICE);
    const bob: NamingOwner = { user: 'bob', uid: 'bobs-web' };
    const hijack = await publishEndpoints(coord, 'web', 'web-1', [{ ...endpoint('web-1', 'http', 6666) }], bob).catch(
      (e: unknown) => e,
    );
    expect(isGalaxyError(hijack, 'GALAXY_E_NAME_TAKEN')).toBe(true);
    expect(String(hijack)).toMatch(/naming entry "web" belongs to another user's job/);
    expect(String(hijack)).not.toContain('alice');
    await expect(claimNaming(coord, 'web', bob)).rejects.toThrow(/GALAXY_E_NAME_TAKEN/);
    // Nor can it withdraw what is not its own.
    await withdrawEndpoints(coord, 'web', 'web-1', bob);
    await withdrawJob(coord, 'web', bob);
    expect(await coord.get('/galaxy/naming/web')).toEqual(before);
    expect(await resolve(coord, 'web')).toEqual([endpoint('web-1', 'http', 1)]);
  });

  it("answers only the owner's endpoints: an entry another job wrote beside them is not resolved", async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)], ALICE);
    await coord.put(
      '/galaxy/naming/web/web-9',
      JSON.stringify({ publisher: 'bobs-web', endpoints: [endpoint('web-9', 'http', 6666)] }),
    );
    expect(await resolve(coord, 'web')).toEqual([endpoint('web-1', 'http', 1)]);
    // Entries nobody claimed are resolved by nobody.
    await coord.put(
      '/galaxy/naming/stray/p',
      JSON.stringify({ publisher: 'x', endpoints: [endpoint('p', 'http', 2)] }),
    );
    expect(await resolve(coord, 'stray')).toEqual([]);
  });

  it("lets a later job of the same user take its name's entries over; the earlier job's are not resolved", async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)], ALICE);
    const again: NamingOwner = { user: 'alice', uid: 'web-2nd' };
    await publishEndpoints(coord, 'web', 'web-2', [endpoint('web-2', 'http', 2)], again);
    expect(await namingOwner(coord, 'web')).toEqual(again);
    expect(await resolve(coord, 'web')).toEqual([endpoint('web-2', 'http', 2)]);
    // Her job's removal takes whatever her jobs left there too.
    await withdrawJob(coord, 'web', again);
    expect(await namingOwner(coord, 'web')).toBeUndefined();
    expect(await coord.list('/galaxy/naming')).toEqual([]);
  });

  it('watches: the current list first, then the full list after each change', async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)], ALICE);
    const lists: Endpoint[][] = [];
    const unwatch = watchEndpoints(coord, 'web', (list) => lists.push(list));
    await eventually(() => lists.length === 1, 3000, 'the first list');
    expect(lists[0]).toEqual([endpoint('web-1', 'http', 1)]);

    await publishEndpoints(coord, 'web', 'web-2', [endpoint('web-2', 'http', 2)], ALICE);
    await eventually(() => lists.at(-1)?.length === 2, 3000, 'the second pod');
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1, false)], ALICE);
    await eventually(() => lists.at(-1)?.[0]?.healthy === false, 3000, 'web-1 unhealthy');
    await withdrawJob(coord, 'web', ALICE);
    await eventually(() => lists.at(-1)?.length === 0, 3000, 'the empty list');
    expect(lists).toContainEqual([endpoint('web-1', 'http', 1, false), endpoint('web-2', 'http', 2)]);
    for (let i = 1; i < lists.length; i += 1) expect(lists[i]).not.toEqual(lists[i - 1]);

    unwatch();
    const count = lists.length;
    await publishEndpoints(coord, 'web', 'web-3', [endpoint('web-3', 'http', 3)], ALICE);
    await new Promise((r) => setTimeout(r, 400));
    expect(lists).toHaveLength(count);
  });
});
