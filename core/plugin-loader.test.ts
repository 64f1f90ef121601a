/**
 * The generic plugin loader: built-in names, module paths, and a coded error for every way a
 * module can fail to be a plugin, naming the plugin and what was asked for.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCompatible, loadPlugin, type PluginMeta } from './plugin-loader.js';

/** A made-up plugin kind, so the loader is tested apart from allocators. */
interface WidgetPlugin extends PluginMeta {
  make(): string;
}
const isWidget = (value: PluginMeta): value is WidgetPlugin =>
  typeof (value as Partial<WidgetPlugin>).make === 'function';
const builtin: WidgetPlugin = { kind: 'widget', name: 'round', version: '1.0.0', galaxyApi: '^1', make: () => 'round' };
const load = (spec: string) => loadPlugin('widget', spec, { round: builtin }, '1.2.0', isWidget);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-plugin-loader-'));
  const files: Record<string, string> = {
    'square.mjs':
      "export default { kind: 'widget', name: 'square', version: '2.0.0', galaxyApi: '^1', make: () => 'square' };\n",
    'named.mjs':
      "export const plugin = { kind: 'widget', name: 'named', version: '1.0.0', galaxyApi: '1.x', make: () => 'named' };\n",
    'empty.mjs': 'export const nothing = 1;\n',
    'no-factory.mjs': "export default { kind: 'widget', name: 'lazy', version: '1.0.0', galaxyApi: '^1' };\n",
    'future.mjs':
      "export default { kind: 'widget', name: 'future', version: '3.0.0', galaxyApi: '^2', make: () => '' };\n",
    'newer.mjs':
      "export default { kind: 'widget', name: 'newer', version: '1.0.0', galaxyApi: '^1.3', make: () => '' };\n",
    'fruit.mjs':
      "export default { kind: 'widget', name: 'fruit', version: '1.0.0', galaxyApi: 'banana', make: () => '' };\n",
    'broken.mjs': 'export default {;\n',
    'kindless.mjs': "export default { name: 'kindless', version: '1.0.0', galaxyApi: '^1', make: () => '' };\n",
    'agent.mjs':
      "export default { kind: 'agent', name: 'gadget', version: '1.0.0', galaxyApi: '^1', make: () => '' };\n",
    'odd.mjs': "export default { kind: 'gizmo', name: 'odd', version: '1.0.0', galaxyApi: '^1', make: () => '' };\n",
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadPlugin', () => {
  it('returns a built-in by name without touching the file system', async () => {
    expect(await load('round')).toBe(builtin);
  });

  it('imports a module by absolute path and takes its default export', async () => {
    expect((await load(join(dir, 'square.mjs'))).make()).toBe('square');
  });

  it('resolves a relative path against the working directory and accepts a `plugin` export', async () => {
    const spec = relative(process.cwd(), join(dir, 'named.mjs'));
    expect((await load(spec)).name).toBe('named');
  });

  it('names an unknown built-in and lists the known ones', async () => {
    await expect(load('oval')).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringMatching(/no built-in widget named "oval" \(built in: round\)/) as string,
    });
  });

  it('refuses a missing file, naming the spec', async () => {
    const spec = join(dir, 'missing.mjs');
    await expect(load(spec)).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining(`widget "${spec}"`) as string,
    });
  });

  it('refuses a module without a default or `plugin` export', async () => {
    await expect(load(join(dir, 'empty.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('exports no plugin') as string,
    });
  });

  it('refuses a module that does not load', async () => {
    await expect(load(join(dir, 'broken.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('failed to load') as string,
    });
  });

  it('refuses a plugin without its factory, naming it', async () => {
    await expect(load(join(dir, 'no-factory.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('widget "lazy"') as string,
    });
  });

  it('refuses a plugin of another kind, or of none, before looking at its shape or API range', async () => {
    await expect(load(join(dir, 'agent.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringMatching(
        /"gadget" .* is an agent plugin, not a widget: load it with `galaxy agent --plugin`/,
      ) as string,
    });
    await expect(load(join(dir, 'odd.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringContaining(`declares kind "gizmo", not 'widget'`) as string,
    });
    await expect(load(join(dir, 'kindless.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringContaining("declares no kind: add `kind: 'widget'` to its metadata") as string,
    });
  });

  it('refuses a plugin written for another major API version, naming it and both versions', async () => {
    await expect(load(join(dir, 'future.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_INCOMPATIBLE',
      message: expect.stringMatching(
        /widget "future" .* supports widget API \^2, but this Galaxy provides 1\.2\.0/,
      ) as string,
    });
  });
});

describe('loadPlugin and API ranges', () => {
  it('refuses a plugin that needs a newer minor API, and one whose range is not a semver range', async () => {
    await expect(load(join(dir, 'newer.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_INCOMPATIBLE',
      message: expect.stringMatching(
        /widget "newer" .* supports widget API \^1\.3, but this Galaxy provides 1\.2\.0/,
      ) as string,
    });
    await expect(load(join(dir, 'fruit.mjs'))).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_INCOMPATIBLE',
      message: expect.stringContaining('"banana", which is not a semver range') as string,
    });
  });
});

describe('apiCompatible', () => {
  it.each([
    ['^1', '1.0.0', true],
    ['1', '1.9.3', true],
    ['1.x', '1.4.0', true],
    ['~1.2', '1.2.0', true],
    ['>=1', '2.0.0', true],
    ['*', '7.0.0', true],
    ['^2', '1.0.0', false],
    ['>=3', '2.5.0', false],
    ['banana', '1.0.0', false],
    // Minors count too: a plugin that needs API 1.3 does not load on 1.2.
    ['^1.3', '1.2.0', false],
    ['^1.2', '1.2.0', true],
    ['~1.2', '1.3.0', false],
    ['1.2.x', '1.3.0', false],
    ['>=1.1 <2', '1.5.0', true],
    ['>=1.1 <2', '2.0.0', false],
  ])('range %s admits %s: %s', (range, version, expected) => {
    expect(apiCompatible(range, version)).toBe(expected);
  });
});
