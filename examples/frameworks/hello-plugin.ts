/**
 * An example framework plugin, hosted by `galaxy framework run ./dist/examples/frameworks/hello-plugin.js
 * --option count=3`: it launches `count` tasks that greet from their agent, counts how they end, and
 * suppresses offers once all are launched. A framework plugin is metadata plus `create(context)`
 * returning a scheduler (the SDK's event handlers).
 */
import { addResources, containsResources, emptyResources, type Resources } from '../../core/resources.js';
import { isTerminal } from '../../core/task-state.js';
import { TaskState, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { FrameworkPlugin } from '../../frameworks/host/plugin.js';

/** What the plugin reports about its tasks. */
export interface HelloProgress {
  launched: number;
  finished: number;
  failed: number;
}

const PER_TASK: Resources = { ...emptyResources(), cpus: 100, mem: 16 * 1024 * 1024 };

const plugin: FrameworkPlugin & { progress?: HelloProgress } = {
  kind: 'framework',
  name: 'hello',
  version: '1.0.0',
  galaxyApi: '^1',
  create(context) {
    const count = Number(context.options.count ?? '3');
    const progress: HelloProgress = { launched: 0, finished: 0, failed: 0 };
    plugin.progress = progress;
    return {
      info: { name: 'hello', role: context.options.role ?? '*' },
      scheduler: {
        async offers(driver, offers) {
          for (const offer of offers) {
            const tasks: TaskInfo[] = [];
            let used = emptyResources();
            while (
              progress.launched < count &&
              offer.resources &&
              containsResources(offer.resources, addResources(used, PER_TASK))
            ) {
              used = addResources(used, PER_TASK);
              const taskId = `hello-${progress.launched++}`;
              tasks.push({
                taskId,
                name: taskId,
                agentId: offer.agentId,
                resources: PER_TASK,
                command: {
                  shell: 'echo "hello from $GALAXY_TASK_ID on $GALAXY_AGENT_ID"',
                  argv: [],
                  env: {},
                  user: '',
                },
                labels: [],
                killGraceS: 1,
                volumes: [],
              });
            }
            if (tasks.length > 0) await driver.launch([offer.id], tasks);
            else await driver.decline([offer.id], { refuseSeconds: 5 });
          }
          if (progress.launched >= count) await driver.suppress();
        },
        update(_driver, status) {
          if (!isTerminal(status.state) || status.reason === 'reconciliation') return;
          if (status.state === TaskState.TASK_FINISHED) progress.finished += 1;
          else progress.failed += 1;
          context.log.info({ task: status.taskId, state: TaskState[status.state] }, 'hello task ended');
        },
      },
    };
  },
};

export default plugin;
