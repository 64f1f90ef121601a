/**
 * Drain handling as an AppMaster plugin: it follows which agents an operator drains (the master
 * announces the current drains after every subscription) and, on each tick, replaces the pods on
 * them that each job's deploy pace allows now (`drain.ts`).
 */
import { planDrain } from '../drain.js';
import type { AppMasterPlugin } from '../hooks.js';

/** The plugin's name in taps and logs. */
export const DRAIN_PLUGIN = 'drain';

/** Moves pods off draining agents. */
export const drainPlugin: AppMasterPlugin = {
  name: DRAIN_PLUGIN,
  apply(appmaster) {
    const { hooks, log } = appmaster;
    /** Agents an operator drains. */
    const draining = new Set<string>();
    hooks.subscribed.tap(DRAIN_PLUGIN, () => {
      draining.clear();
    });
    hooks.agentDraining.tap(DRAIN_PLUGIN, (agentId, drains) => {
      if (drains) draining.add(agentId);
      else draining.delete(agentId);
      log.info(
        { agent: agentId, draining: drains },
        drains ? 'agent draining; moving its pods away' : 'agent drain ended',
      );
    });
    hooks.reconcilingJob.tap(DRAIN_PLUGIN, (job) => {
      const { step, intervalS } = job.spec.deploy;
      for (const podId of planDrain(job.pods(), draining, { step, intervalS }, appmaster.now())) {
        const pod = job.pod(podId);
        log.info(
          { job: job.record.name, pod: podId, agent: pod.record.agentId },
          'moving the pod off a draining agent',
        );
        appmaster.replacePod(job, pod);
      }
    });
  },
};
