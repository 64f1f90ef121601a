/**
 * Agent plugins by module path (`galaxy agent --plugin <path>`): the loader checks them, and the
 * agent applies them after its own, on its one hooks object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { Agent } from '../agent.js';
import { discoverMachine } from '../discovery.js';
import { createAgentHooks, type LaunchContext } from '../hooks.js';
import { loadAgentPlugins } from './index.js';

const example = fileURLToPath(new URL('../../examples/plugins/label-env.ts', import.meta.url));
const isolatorExample = fileURLToPath(new URL('../../examples/isolators/sandbox-marker.ts', import.meta.url));

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
      code: 'GALAXY_E_PLUGIN_LOAD',
      message: expect.stringContaining('apply(agent)') as unknown,
    });
  });

  it('is applied by the agent after its own plugins', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'galaxy-agent-plugins-'));
    try {
      const options = { master: '127.0.0.1:1', workDir, plugins: await loadAgentPlugins([example]) };
      const agent = new Agent(options, await discoverMachine(options), createLogger('test', 'silent'));
      expect(agent.hooks.beforeLaunch.taps.map((t) => t.name)).toEqual(['label-env']);
      expect(agent.hooks.statusUpdate.taps.map((t) => t.name)).toEqual(['task-trace']);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
