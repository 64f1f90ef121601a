/**
 * The event log's persistence, as a master plugin: before the master serves, the events kept in
 * the coordinator (by the masters that led before, `store.ts`) are loaded into the log, and every
 * later event is written there in batches. Applied by a master that runs with a registry
 * (`candidate.ts`), on local: and ZooKeeper alike.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { BuiltinMasterPlugin, type MasterHost } from '../plugin.js';
import { CoordinatorEventStore } from './store.js';

/** Loads the event log before the master serves and keeps it in the coordinator. */
export class EventPersistence extends BuiltinMasterPlugin {
  readonly name = 'event-persistence';

  constructor(private readonly coordinator: Coordinator) {
    super();
  }

  /** Taps `starting`: loads the kept events, then stores new ones. */
  apply({ hooks, ctx, log }: MasterHost): void {
    hooks.starting.tapPromise(this.name, async () => {
      const store = new CoordinatorEventStore(this.coordinator, log, ctx.timings.eventFlushMs);
      const kept = await store.load();
      ctx.events.restore(kept, store);
      log.info({ events: ctx.events.size, segments: kept.length > 0 }, 'event log loaded');
    });
  }
}
