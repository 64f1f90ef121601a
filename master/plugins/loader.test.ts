/**
 * Master plugins by module path (`galaxy master --plugin <path>`): the loader checks their
 * metadata and shape, and a loaded plugin taps the master like a built-in — here the example
 * plugin refuses a root task over the real scheduler API, and nothing launches.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { runCli } from '../../test/helpers/cli.js';
import { rawAgent, rawFramework } from '../../test/helpers/raw-clients.js';
import { startMaster } from '../master.js';
import { loadMasterPlugins } from './index.js';

const example = fileURLToPath(new URL('../../examples/plugins/no-root-tasks.ts', import.meta.url));
const isolatorExample = fileURLToPath(new URL('../../examples/isolators/sandbox-marker.ts', import.meta.url));
const agentExample = fileURLToPath(new URL('../../examples/plugins/label-env.ts', import.meta.url));
/** The built agent plugin, as an operator would name it to `galaxy master --plugin` by mistake. */
const builtAgentExample = fileURLToPath(new URL('../../dist/examples/plugins/label-env.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-master-plugins-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function task(id: string, user: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 100, mem: 16 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'true', argv: [], env: {}, user },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}

describe('loadMasterPlugins', () => {
  it('loads a plugin from a module path, in order', async () => {
    const plugins = await loadMasterPlugins([example]);
    expect(plugins.map((p) => [p.name, p.galaxyApi])).toEqual([['no-root-tasks', '^1']]);
  });

  it('refuses an unknown name, a repeated one, a module of another kind and an incompatible API', async () => {
    await expect(loadMasterPlugins(['magic'])).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('no built-in master plugin named "magic"') as unknown,
    });
    await expect(loadMasterPlugins([example, example])).rejects.toMatchObject({ code: 'GALAXY_E_INVALID_ARGUMENT' });
    await expect(loadMasterPlugins([isolatorExample])).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringContaining('is an isolator, not a master plugin') as unknown,
    });
    const shapeless = join(dir, 'shapeless.mjs');
    await writeFile(
      shapeless,
      "export default { kind: 'master', name: 'shapeless', version: '1.0.0', galaxyApi: '^1' };\n",
    );
    await expect(loadMasterPlugins([shapeless])).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('apply(master)') as unknown,
    });
    const future = join(dir, 'future.mjs');
    await writeFile(
      future,
      "export default { kind: 'master', name: 'future', version: '1.0.0', galaxyApi: '^2', apply() {} };\n",
    );
    await expect(loadMasterPlugins([future])).rejects.toMatchObject({ code: 'GALAXY_E_PLUGIN_INCOMPATIBLE' });
  });

  it("refuses an agent plugin, whose shape is a master plugin's (`apply`), by its kind", async () => {
    await expect(loadMasterPlugins([agentExample])).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringMatching(
        /"label-env" .* is an agent plugin, not a master plugin: load it with `galaxy agent --plugin`/,
      ) as unknown,
    });
    // One without a kind could be either: it is refused too, told what to declare.
    const kindless = join(dir, 'kindless.mjs');
    await writeFile(kindless, "export default { name: 'kindless', version: '1.0.0', galaxyApi: '^1', apply() {} };\n");
    await expect(loadMasterPlugins([kindless])).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringContaining("declares no kind: add `kind: 'master'`") as unknown,
    });
  });

  it('galaxy master --plugin <an agent plugin> exits before it serves, with the coded error', async () => {
    const work = await mkdtemp(join(tmpdir(), 'galaxy-master-kind-'));
    try {
      const run = await runCli([
        'master',
        '--listen',
        '127.0.0.1:0',
        '--work-dir',
        work,
        '--insecure-no-auth',
        '--plugin',
        builtAgentExample,
      ]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('GALAXY_E_PLUGIN_KIND');
      expect(run.stderr).toContain('galaxy agent --plugin');
      // Refused before anything was written.
      expect(await readdir(work)).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('applies a loaded plugin after the built-ins: the example refuses a root task and nothing launches', async () => {
    const master = await startMaster({
      listen: '127.0.0.1:0',
      insecureNoAuth: true,
      logLevel: 'silent',
      timings: { allocationIntervalMs: 100 },
      plugins: await loadMasterPlugins([example]),
    });
    const agent = rawAgent(master.address, {});
    const framework = rawFramework(master.address, { name: 'f' });
    try {
      await agent.registered;
      const offers = await framework.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'OFFERS');
      const offer = offers.event?.$case === 'offers' ? offers.event.offers.offers[0] : undefined;
      if (!offer) throw new Error('empty OFFERS event');
      const taps = master.hooks.validateLaunch.taps.map((t) => t.name);
      expect(taps).toEqual(['authorization', 'no-root-tasks']);
      const accept = framework.call({
        call: {
          $case: 'accept',
          accept: {
            offerIds: [offer.id],
            operations: [
              { operation: { $case: 'launch', launch: { taskInfos: [task('fine', ''), task('r', 'root')] } } },
            ],
          },
        },
      });
      await expect(accept).rejects.toThrow(/GALAXY_E_TASK_INVALID: task r: tasks may not run as root/);
      expect(master.view.tasks('')).toEqual([]);
    } finally {
      agent.close();
      framework.close();
      await master.stop();
    }
  });
});
