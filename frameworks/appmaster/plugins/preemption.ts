/**
 * Preemption requests as an AppMaster plugin: after each tick, pods of a preempting band that
 * have waited too long for lack of resources ask the master to preempt lower bands for them
 * (`preemption.ts`).
 */
import type { AppMasterPlugin } from '../hooks.js';
import { PodPreemption } from '../preemption.js';

/** The plugin's name in taps and logs. */
export const PREEMPTION_PLUGIN = 'preemption';

/** Asks for room for pods pending too long. */
export const preemptionPlugin: AppMasterPlugin = {
  name: PREEMPTION_PLUGIN,
  apply(appmaster) {
    const preemption = new PodPreemption(appmaster.log, () => appmaster.now());
    appmaster.hooks.reconciled.tap(PREEMPTION_PLUGIN, (jobs) => {
      preemption.step(appmaster.driver(), jobs);
    });
  },
};
