/**
 * An example agent plugin: before each task starts, its labels become environment variables
 * (`rack=r1` → `GALAXY_LABEL_RACK=r1`), on the agent's `beforeLaunch` hook. Load it with
 * `galaxy agent --plugin ./dist/examples/plugins/label-env.js`.
 */
import type { AgentPlugin } from '../../agent/hooks.js';

const NAME = 'label-env';

/** `GALAXY_LABEL_` and the key in upper case, anything but letters and digits as `_`. */
function variable(key: string): string {
  return `GALAXY_LABEL_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The plugin: metadata plus `apply`, as the loader expects. */
const plugin: AgentPlugin = {
  kind: 'agent',
  name: NAME,
  version: '1.0.0',
  galaxyApi: '^1',
  apply({ hooks }) {
    hooks.beforeLaunch.tapPromise(NAME, (context) => {
      for (const { key, value } of context.task.labels) context.env[variable(key)] = value;
      return Promise.resolve();
    });
  },
};
export default plugin;
