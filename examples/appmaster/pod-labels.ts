/**
 * An example AppMaster plugin: it labels each pod's task with the pod's index and the revision it
 * was launched at, so `galaxy tasks` shows which pod and revision a container is. Load it with
 * `galaxy framework run appmaster --option plugins=./dist/examples/appmaster/pod-labels.js`.
 */
import type { LoadableAppMasterPlugin } from '../../frameworks/appmaster/plugins/load.js';

const NAME = 'pod-labels';

/** The plugin: metadata, and `apply` tapping the AppMaster's hooks. */
const plugin: LoadableAppMasterPlugin = {
  kind: 'appmaster',
  name: NAME,
  version: '1.0.0',
  galaxyApi: '^1',
  apply(appmaster) {
    appmaster.hooks.podLaunching.tap(NAME, ({ pod, task }) => {
      task.labels.push(
        { key: 'appmaster.pod-index', value: String(pod.record.index) },
        { key: 'appmaster.revision', value: String(pod.record.revision) },
      );
    });
  },
};

export default plugin;
