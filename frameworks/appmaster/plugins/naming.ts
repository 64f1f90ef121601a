/**
 * Naming publishing as an AppMaster plugin: each report publishes the pod's endpoints (written
 * only when they change), an ended container withdraws them, and a removed job withdraws all of
 * its entries before its owner's claim is released (`naming-publisher.ts`).
 */
import type { AppMasterPlugin } from '../hooks.js';
import { NamingPublisher } from '../naming-publisher.js';

/** The plugin's name in taps and logs. */
export const NAMING_PLUGIN = 'naming';

/** Keeps naming in step with the pods. */
export const namingPlugin: AppMasterPlugin = {
  name: NAMING_PLUGIN,
  apply(appmaster) {
    const naming = new NamingPublisher(appmaster.coordinator, appmaster.log);
    appmaster.hooks.podReported.tap(NAMING_PLUGIN, (job, pod) => {
      naming.publish(job, pod);
    });
    appmaster.hooks.podEnded.tap(NAMING_PLUGIN, ({ job, pod }) => {
      naming.withdraw(job, pod);
    });
    appmaster.hooks.jobRemoved.tapPromise(NAMING_PLUGIN, (job) => naming.withdrawJob(job));
  },
};
