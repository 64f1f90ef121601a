/**
 * Blacklisted hosts as events: after each tick, a host that has just reached a job's
 * `failure.blacklistAfter` (its pods will not be placed there again) is published as a
 * `job.blacklisted` event of that job.
 */
import { ownerOf } from '../admission.js';
import type { AppMasterPlugin } from '../hooks.js';

/** The plugin's name in taps and logs. */
export const BLACKLIST_EVENTS_PLUGIN = 'blacklist-events';

/** Publishes newly blacklisted hosts. */
export const blacklistEventsPlugin: AppMasterPlugin = {
  name: BLACKLIST_EVENTS_PLUGIN,
  apply({ hooks, events }) {
    /** Job name → hosts already announced. */
    const announced = new Map<string, Set<string>>();
    hooks.reconciled.tap(BLACKLIST_EVENTS_PLUGIN, (jobs) => {
      const live = new Set<string>();
      for (const job of jobs) {
        const name = job.record.name;
        live.add(name);
        const seen = announced.get(name) ?? new Set<string>();
        announced.set(name, seen);
        for (const [hostname, failures] of Object.entries(job.record.hostFailures)) {
          if (seen.has(hostname) || !job.blacklisted(hostname)) continue;
          seen.add(hostname);
          events.publish({
            kind: 'job.blacklisted',
            user: ownerOf(job.record),
            actor: 'appmaster',
            job: name,
            state: hostname,
            reason: `${failures} failures on ${hostname}`,
            message: `pods of ${name} are no longer placed on ${hostname}`,
          });
        }
      }
      for (const name of announced.keys()) if (!live.has(name)) announced.delete(name);
    });
  },
};
