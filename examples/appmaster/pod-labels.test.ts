/**
 * The worked example of docs/writing-plugins.md: the pod-labels plugin, loaded by path as
 * `--option plugins=` loads it, labels every launched pod's task with its index and revision.
 * A module that is not an AppMaster plugin is refused with a coded error. The docs show this
 * very code (examples/writing-plugins.test.ts checks it).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAppMasterPlugins } from '../../frameworks/appmaster/plugins/load.js';
import {
  offerOf,
  specJson,
  startAppMasterHarness,
  type AppMasterHarness,
} from '../../frameworks/appmaster/testing/harness.js';

const example = fileURLToPath(new URL('./pod-labels.ts', import.meta.url));
const isolator = fileURLToPath(new URL('../isolators/sandbox-marker.ts', import.meta.url));

let h: AppMasterHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('the pod-labels AppMaster plugin', { timeout: 20_000 }, () => {
  it('labels each launched pod with its index and revision', async () => {
    const plugins = await loadAppMasterPlugins(example);
    expect(plugins.map((p) => p.name)).toEqual(['pod-labels']);
    h = await startAppMasterHarness({ plugins });
    await h.appmaster.submit(specJson('web', 2));
    h.offer(offerOf('o1'));
    await h.calls('accept');
    const labels = h.launched().map((task) => task.labels.filter((l) => l.key.startsWith('appmaster.')));
    expect(labels).toEqual([
      [
        { key: 'appmaster.pod-index', value: '0' },
        { key: 'appmaster.revision', value: '1' },
      ],
      [
        { key: 'appmaster.pod-index', value: '1' },
        { key: 'appmaster.revision', value: '1' },
      ],
    ]);
  });

  it('refuses a module of another kind, naming it', async () => {
    await expect(loadAppMasterPlugins(isolator)).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringContaining('"sandbox-marker" (') as unknown,
    });
  });
});
