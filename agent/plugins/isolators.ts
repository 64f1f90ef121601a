/**
 * The isolators as an agent plugin: each isolator's lifecycle methods are tapped onto the agent's
 * container hooks under the isolator's name — prepare and isolate in `--isolation` order, cleanup
 * in reverse — so the containerizer drives every isolator through the hooks alone. A failing
 * `limitation` counts as no limitation, and a failing `recover` is logged: neither may keep the
 * other isolators from running.
 */
import type { Isolator } from '../../isolators/isolator.js';
import { AGENT_PLUGIN_API_VERSION, type AgentPlugin } from '../hooks.js';

/** Creates the plugin that taps `isolators` (in order) onto an agent's hooks. */
export function isolatorsPlugin(isolators: readonly Isolator[]): AgentPlugin {
  return {
    kind: 'agent',
    name: 'isolators',
    version: AGENT_PLUGIN_API_VERSION,
    galaxyApi: '^1',
    apply({ hooks, log }) {
      for (const isolator of isolators) {
        const name = isolator.name;
        if (isolator.prepare) hooks.prepare.tapPromise(name, (c) => isolator.prepare?.(c) ?? Promise.resolve());
        if (isolator.isolate)
          hooks.isolate.tapPromise(name, (c, pid) => isolator.isolate?.(c, pid) ?? Promise.resolve());
        if (isolator.limitation)
          hooks.limitation.tapPromise(name, async (c) => isolator.limitation?.(c).catch(() => undefined));
        if (isolator.recover)
          hooks.recover.tapPromise(name, async (containers) => {
            await isolator.recover?.(containers).catch((error: unknown) => {
              log.warn({ isolator: name, err: String(error) }, 'isolator recovery failed');
            });
          });
      }
      // One tap measures with every isolator at once and merges in `--isolation` order, so the
      // later isolator's figure wins where two measure the same thing, whichever answers first.
      const measuring = isolators.filter((i) => i.usage !== undefined);
      if (measuring.length > 0)
        hooks.usage.tapPromise('isolators', async (c, usage) => {
          const parts = await Promise.all(measuring.map((i) => i.usage?.(c) ?? Promise.resolve({})));
          Object.assign(usage, ...parts);
        });
      for (const isolator of [...isolators].reverse())
        if (isolator.cleanup)
          hooks.cleanup.tapPromise(isolator.name, (c) => isolator.cleanup?.(c) ?? Promise.resolve());
    },
  };
}
