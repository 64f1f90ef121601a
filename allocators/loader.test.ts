/**
 * Loading allocators by name or module path, and refusing what is not an allocator plugin.
 * The generic rules live in core/plugin-loader.test.ts; this checks the allocator wiring.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResources } from '../core/resources.js';
import { loadAllocator } from './index.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-loader-'));
  await writeFile(join(dir, 'empty.mjs'), 'export const nothing = 1;\n');
  await writeFile(
    join(dir, 'future.mjs'),
    "export default { kind: 'allocator', name: 'future', version: '9.0.0', galaxyApi: '^9', create() { return {}; } };\n",
  );
  await writeFile(
    join(dir, 'shapeless.mjs'),
    "export default { kind: 'allocator', name: 'shapeless', version: '1.0.0', galaxyApi: '^1' };\n",
  );
  await writeFile(join(dir, 'broken.mjs'), 'export default {;\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadAllocator', () => {
  it('loads the built-ins by name', async () => {
    expect((await loadAllocator('drf')).name).toBe('drf');
    expect((await loadAllocator('round-robin')).name).toBe('round-robin');
    // The former name of the round-robin policy still loads it.
    expect((await loadAllocator('first-fit')).name).toBe('round-robin');
  });

  it('loads a custom allocator from a module path, and it allocates', async () => {
    const path = fileURLToPath(new URL('../examples/allocators/random-allocator.ts', import.meta.url));
    const allocator = await loadAllocator(path);
    expect(allocator.name).toBe('random');
    allocator.addAgent(
      { id: 'a', hostname: 'a', total: parseResources('cpus:1;mem:1GiB'), attributes: [], pool: 'default' },
      new Map(),
    );
    allocator.addFramework({ id: 'f', name: 'f', role: '*' }, new Map(), true);
    expect(allocator.allocate()).toEqual([
      { frameworkId: 'f', agentId: 'a', resources: parseResources('cpus:1;mem:1GiB') },
    ]);
  });

  it('refuses, naming the plugin or path: unknown names, missing files, modules without a plugin, wrong shapes, other API versions', async () => {
    await expect(loadAllocator('fairest')).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('"fairest"') as string,
    });
    await expect(loadAllocator(join(dir, 'missing.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('does not exist') as string,
    });
    await expect(loadAllocator(join(dir, 'empty.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('exports no plugin') as string,
    });
    await expect(loadAllocator(join(dir, 'shapeless.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('"shapeless"') as string,
    });
    await expect(loadAllocator(join(dir, 'broken.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('failed to load') as string,
    });
    await expect(loadAllocator(join(dir, 'future.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_INCOMPATIBLE',
      message: expect.stringContaining('"future"') as string,
    });
  });
});
