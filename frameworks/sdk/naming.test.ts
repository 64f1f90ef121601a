/**
 * Naming on the memory and local coordinators: what the AppMaster publishes is what clients
 * resolve, sorted, and a watch sees every change.
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
import { publishEndpoints, resolve, watchEndpoints, withdrawEndpoints, withdrawJob, type Endpoint } from './naming.js';

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
    await publishEndpoints(coord, 'web', 'web-2', [endpoint('web-2', 'http', 8080), endpoint('web-2', 'admin', 9000)]);
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 8081, false)]);
    await publishEndpoints(coord, 'other', 'o-1', [{ ...endpoint('o-1', 'http', 1), job: 'other' }]);
    expect(await resolve(coord, 'web')).toEqual([
      endpoint('web-2', 'admin', 9000),
      endpoint('web-1', 'http', 8081, false),
      endpoint('web-2', 'http', 8080),
    ]);
    expect(await resolve(coord, 'web', 'admin')).toEqual([endpoint('web-2', 'admin', 9000)]);
    expect(await coord.get('/galaxy/naming/web/web-1')).toEqual({
      value: JSON.stringify({ endpoints: [endpoint('web-1', 'http', 8081, false)] }),
      version: 0,
    });
    expect(await resolve(coord, 'nobody')).toEqual([]);
  });

  it('withdraws one pod, then the whole job', async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)]);
    await publishEndpoints(coord, 'web', 'web-2', [endpoint('web-2', 'http', 2)]);
    await withdrawEndpoints(coord, 'web', 'web-1');
    expect(await resolve(coord, 'web')).toEqual([endpoint('web-2', 'http', 2)]);
    await withdrawJob(coord, 'web');
    expect(await resolve(coord, 'web')).toEqual([]);
    expect(await coord.list('/galaxy/naming')).toEqual([]);
  });

  it('skips an entry that is not naming JSON instead of failing the whole job', async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)]);
    await coord.put('/galaxy/naming/web/broken', 'not json');
    await coord.put('/galaxy/naming/web/wrong', JSON.stringify({ endpoints: [{ port: 'x' }] }));
    expect(await resolve(coord, 'web')).toEqual([endpoint('web-1', 'http', 1)]);
  });

  it('refuses bad job names and bad endpoints', async () => {
    for (const attempt of [
      resolve(coord, '../etc'),
      publishEndpoints(coord, 'web', 'a/b', []),
      publishEndpoints(coord, 'web', 'p', [{ ...endpoint('p', 'http', 1), port: 70000 }]),
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

  it('watches: the current list first, then the full list after each change', async () => {
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1)]);
    const lists: Endpoint[][] = [];
    const unwatch = watchEndpoints(coord, 'web', (list) => lists.push(list));
    await eventually(() => lists.length === 1, 3000, 'the first list');
    expect(lists[0]).toEqual([endpoint('web-1', 'http', 1)]);

    await publishEndpoints(coord, 'web', 'web-2', [endpoint('web-2', 'http', 2)]);
    await eventually(() => lists.at(-1)?.length === 2, 3000, 'the second pod');
    await publishEndpoints(coord, 'web', 'web-1', [endpoint('web-1', 'http', 1, false)]);
    await eventually(() => lists.at(-1)?.[0]?.healthy === false, 3000, 'web-1 unhealthy');
    await withdrawJob(coord, 'web');
    await eventually(() => lists.at(-1)?.length === 0, 3000, 'the empty list');
    expect(lists).toContainEqual([endpoint('web-1', 'http', 1, false), endpoint('web-2', 'http', 2)]);
    for (let i = 1; i < lists.length; i += 1) expect(lists[i]).not.toEqual(lists[i - 1]);

    unwatch();
    const count = lists.length;
    await publishEndpoints(coord, 'web', 'web-3', [endpoint('web-3', 'http', 3)]);
    await new Promise((r) => setTimeout(r, 400));
    expect(lists).toHaveLength(count);
  });
});
