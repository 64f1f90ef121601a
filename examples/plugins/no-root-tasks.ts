/**
 * An example master plugin: it refuses every task that asks to run as root, on the master's
 * `validateLaunch` hook, and counts the refusals in the master's log. Load it with
 * `galaxy master --plugin ./dist/examples/plugins/no-root-tasks.js`.
 */
import type { MasterPlugin } from '../../master/plugin.js';

const NAME = 'no-root-tasks';

/** The plugin: metadata plus `apply`, as the loader expects. */
const plugin: MasterPlugin = {
  kind: 'master',
  name: NAME,
  version: '1.0.0',
  galaxyApi: '^1',
  apply({ hooks, log }) {
    let refused = 0;
    hooks.validateLaunch.tap(NAME, (task, framework) => {
      if (task.command?.user !== 'root') return undefined;
      refused += 1;
      log.warn({ framework: framework.id, task: task.taskId, refused }, 'refused a task that runs as root');
      return 'tasks may not run as root on this cluster (no-root-tasks plugin)';
    });
  },
};
export default plugin;
