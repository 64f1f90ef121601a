/**
 * Agent plugins by module path (`galaxy agent --plugin <path>`): the loader checks them, and the
 * agent applies them after its own, on its one hooks object.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { runCli } from '../../test/helpers/cli.js';
import { Agent } from '../agent.js';
import { discoverMachine } from '../discovery.js';
import { createAgentHooks, type LaunchContext } from '../hooks.js';
import { loadAgentPlugins } from './index.js';

const example = fileURLToPath(new URL('../../examples/plugins/label-env.ts', import.meta.url));
const isolatorExample = fileURLToPath(new URL('../../examples/isolators/sandbox-marker.ts', import.meta.url));
const masterExample = fileURLToPath(new URL('../../examples/plugins/no-root-tasks.ts', import.meta.url));
/** The built master plugin, as an operator would name it to `galaxy agent --plugin` by mistake. */
const builtMasterExample = fileURLToPath(new URL('../../dist/examples/plugins/no-root-tasks.js', import.meta.url));

describe('loadAgentPlugins', () => {
  it('loads a plugin from a module path; its taps run on the hooks it is applied to', async () => {
    const [plugin] = await loadAgentPlugins([example]);
    if (!plugin) throw new Error('no plugin loaded');
    const hooks = createAgentHooks();
    plugin.apply({ hooks, log: createLogger('test', 'silent') });
    const context: LaunchContext = {
      framework: { id: 'fw', name: 'f', role: '', roles: [], user: '', failoverTimeoutS: 0, hostname: '' },
      task: {
        taskId: 't',
        name: 't',
        agentId: '',
        labels: [{ key: 'rack-zone', value: 'r1' }],
        killGraceS: 1,
        volumes: [],
      },
      sandbox: '/nowhere',
      env: {},
    };
    await hooks.beforeLaunch.promise(context);
    expect(context.env).toEqual({ GALAXY_LABEL_RACK_ZONE: 'r1' });
  });

  it('refuses an unknown name, a repeated one and a module of another kind', async () => {
    await expect(loadAgentPlugins(['magic'])).rejects.toMatchObject({ code: 'GALAXY_E_PLUGIN_LOAD' });
    await expect(loadAgentPlugins([example, example])).rejects.toMatchObject({ code: 'GALAXY_E_INVALID_ARGUMENT' });
    await expect(loadAgentPlugins([isolatorExample])).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringContaining('is an isolator, not an agent plugin') as unknown,
    });
  });

  it("refuses a master plugin, whose shape is an agent plugin's (`apply`), by its kind", async () => {
    await expect(loadAgentPlugins([masterExample])).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_KIND',
      message: expect.stringMatching(
        /"no-root-tasks" .* is a master plugin, not an agent plugin: load it with `galaxy master --plugin`/,
      ) as unknown,
    });
  });

  it('galaxy agent --plugin <a master plugin> exits before it starts, with the coded error', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'galaxy-agent-kind-'));
    try {
      const run = await runCli([
        'agent',
        '--master',
        '127.0.0.1:1',
        '--work-dir',
        workDir,
        '--plugin',
        builtMasterExample,
      ]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('GALAXY_E_PLUGIN_KIND');
      expect(run.stderr).toContain('galaxy master --plugin');
      expect(await readdir(workDir)).toEqual([]);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  it('is applied by the agent after its own plugins', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'galaxy-agent-plugins-'));
    try {
      const options = { master: '127.0.0.1:1', workDir, plugins: await loadAgentPlugins([example]) };
      const agent = new Agent(options, await discoverMachine(options), createLogger('test', 'silent'));
      // The agent's metrics and trace tap first; the plugin after them.
      expect(agent.hooks.beforeLaunch.taps.map((t) => t.name)).toEqual(['metrics', 'label-env']);
      expect(agent.hooks.statusUpdate.taps.map((t) => t.name)).toEqual(['metrics', 'task-trace']);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
