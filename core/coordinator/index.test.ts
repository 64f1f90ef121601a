/**
 * Opening a coordinator from its URL.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGalaxyError } from '../errors.js';
import { DEFAULT_COORDINATOR, LocalCoordinator, MemoryCoordinator, openCoordinator, urlSessionMs } from './index.js';

async function refusal(url: string): Promise<string> {
  const error = await openCoordinator(url).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isGalaxyError(error, 'GALAXY_E_INVALID_ARGUMENT'), String(error)).toBe(true);
  return String(error);
}

describe('openCoordinator', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'galaxy-open-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens a fresh memory store for memory:', async () => {
    const a = await openCoordinator('memory:');
    const b = await openCoordinator('memory:');
    expect(a).toBeInstanceOf(MemoryCoordinator);
    await a.put('/k', 'v');
    expect(await b.get('/k')).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });

  it('opens local:/dir, creating the directory', async () => {
    const target = join(dir, 'nested', 'coord');
    const coord = await openCoordinator(`local:${target}`);
    expect(coord).toBeInstanceOf(LocalCoordinator);
    expect(coord.description).toBe(`local:${target}`);
    expect((await stat(target)).isDirectory()).toBe(true);
    await coord.close();
    expect(DEFAULT_COORDINATOR).toBe('local:/var/lib/galaxy/coord');
  });

  it('reports an unreachable zk:// ensemble, relative local dirs and unknown schemes', async () => {
    await expect(openCoordinator('zk://127.0.0.1:1/galaxy')).rejects.toMatchObject({
      code: 'GALAXY_E_COORD_UNAVAILABLE',
    });
    expect(await refusal('local:relative/dir')).toMatch(/absolute/);
    expect(await refusal('etcd://x')).toMatch(/memory:, local:/);
    expect(await refusal('')).toMatch(/memory:, local:/);
  });
});

describe('urlSessionMs', () => {
  it("reads a zk:// URL's session timeout wherever the parameter stands", () => {
    expect(urlSessionMs('zk://127.0.0.1:2181/galaxy?session=4000ms')).toBe(4000);
    expect(urlSessionMs('zk://a:1,b:2/galaxy?secret=/etc/galaxy/s&session=10000ms')).toBe(10000);
    expect(urlSessionMs('zk://a:1/galaxy?session=10000ms&secret=/etc/galaxy/s')).toBe(10000);
  });

  it('names none for a URL without one, or for another backend', () => {
    expect(urlSessionMs('zk://127.0.0.1:2181/galaxy')).toBeUndefined();
    expect(urlSessionMs('zk://a:1/galaxy?secret=/s')).toBeUndefined();
    expect(urlSessionMs('local:/var/lib/galaxy/coord?session=10ms')).toBeUndefined();
    expect(urlSessionMs('zk://a:1/galaxy?session=10s')).toBeUndefined();
  });
});
