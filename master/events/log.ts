/**
 * The cluster's event log: every state change with who and why (agents, frameworks, tasks, the
 * jobs and pods frameworks publish, preemptions), newest last. Bounded by count and by age; kept
 * through an {@link EventSink} (the coordinator, in batches: `store.ts`) so that it survives a
 * failover of the master. `append` is cheap and synchronous — it runs on the master's hot path
 * (status updates of thousands of agents) — and never writes to the coordinator itself.
 *
 * Ids increase, across failovers too: a master's first id is the larger of the stored ids + 1
 * and its start time in microseconds, so events a crashed leader had not stored yet are never
 * renumbered under a watcher resuming from one of them.
 */
import type { MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';
import { matchesFilter, type EventFilter } from './filter.js';

/** How much of the log is kept. */
export interface EventRetention {
  /** At most this many events (the oldest go first). */
  readonly maxEvents: number;
  /** Events older than this are forgotten. */
  readonly maxAgeMs: number;
}

/** The defaults: 10,000 events of at most 7 days. */
export const DEFAULT_EVENT_RETENTION: EventRetention = { maxEvents: 10_000, maxAgeMs: 7 * 24 * 3600_000 };

/** An event before the log stamps it: its kind, and whatever else applies. */
export type NewEvent = Partial<Omit<MasterEvent, 'id' | 'kind'>> & { readonly kind: string };

/** Where appended events go to be kept (the coordinator store, in batches). */
export interface EventSink {
  /** Takes an event to keep; must not block or write synchronously. */
  enqueue(event: MasterEvent): void;
  /** Forgets kept events older than `oldestId` or `cutoffS` (whole batches). */
  retain(oldestId: number, cutoffS: number): void;
  /** Writes what was enqueued; resolves once it is stored. */
  flush(): Promise<void>;
  /** Writes what was enqueued and takes no more. */
  close(): Promise<void>;
}

/** Stops a watch. */
export type StopWatching = () => void;

interface Watcher {
  readonly filter: EventFilter;
  readonly onEvent: (event: MasterEvent) => void;
}

/** Fills the fields an event leaves out. */
function complete(event: NewEvent, id: number, time: number): MasterEvent {
  return {
    time,
    reason: '',
    actor: '',
    user: '',
    job: '',
    pod: '',
    agentId: '',
    frameworkId: '',
    taskId: '',
    state: '',
    message: '',
    source: 'master',
    ...event,
    id,
  };
}

/** The log. */
export class EventLog {
  /**
   * Oldest first from {@link head} on; at most `retention.maxEvents` there. Dropped events stay
   * before `head` until they are half the array: dropping one at a time with a splice moved
   * the whole array on every event (issue 16: a share of the master's CPU while a cell launches).
   */
  private events: MasterEvent[] = [];
  private head = 0;
  private nextId: number;
  private readonly watchers = new Set<Watcher>();
  private sink: EventSink | undefined;

  constructor(
    readonly retention: EventRetention = DEFAULT_EVENT_RETENTION,
    private readonly now: () => number = Date.now,
  ) {
    this.nextId = Math.max(1, Math.floor(now() * 1000));
  }

  /**
   * Takes over what a sink kept (loaded before the master serves) and sends every later event to
   * it. Ids continue after the largest kept one.
   */
  restore(kept: readonly MasterEvent[], sink: EventSink): void {
    const sorted = [...kept].sort((a, b) => a.id - b.id);
    const merged = [...sorted, ...this.kept().filter((e) => e.id > (sorted.at(-1)?.id ?? 0))];
    this.events = merged;
    this.head = 0;
    this.nextId = Math.max(this.nextId, (sorted.at(-1)?.id ?? 0) + 1);
    this.trim();
    this.sink = sink;
  }

  /** Stamps an event with its id (and the time, unless given), keeps it and tells the watchers. */
  append(event: NewEvent): MasterEvent {
    const stamped = complete(event, this.nextId++, event.time ?? this.now() / 1000);
    this.events.push(stamped);
    this.trim();
    this.sink?.enqueue(stamped);
    for (const watcher of this.watchers) if (matchesFilter(stamped, watcher.filter)) watcher.onEvent(stamped);
    return stamped;
  }

  /** Kept events matching `filter`, oldest first; only the newest `limit` when it is > 0. */
  query(filter: EventFilter = {}, limit = 0): MasterEvent[] {
    this.trim();
    const matching: MasterEvent[] = [];
    for (let i = this.head; i < this.events.length; i++) {
      const event = this.events[i];
      if (event !== undefined && matchesFilter(event, filter)) matching.push(event);
    }
    return limit > 0 ? matching.slice(-limit) : matching;
  }

  /**
   * Calls `onEvent` with every kept event after `fromId` matching `filter` (the newest `backlog`
   * of them when > 0), oldest first, then with each new matching event as it is appended, until
   * the returned function is called.
   */
  watch(filter: EventFilter, fromId: number, onEvent: (event: MasterEvent) => void, backlog = 0): StopWatching {
    for (const event of this.query({ ...filter, afterId: Math.max(fromId, filter.afterId ?? 0) }, backlog))
      onEvent(event);
    const watcher: Watcher = { filter, onEvent };
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  /** How many events are kept (in memory). */
  get size(): number {
    return this.events.length - this.head;
  }

  /** How many watches are open. */
  get watching(): number {
    return this.watchers.size;
  }

  /** Stores what is not stored yet (a clean stop calls it). */
  async flush(): Promise<void> {
    await this.sink?.flush();
  }

  /** Stores what is not stored yet and stops storing (the master stops). */
  async close(): Promise<void> {
    const sink = this.sink;
    this.sink = undefined;
    await sink?.close();
  }

  /** Drops events past the count and the age. */
  private trim(): void {
    const cutoffS = (this.now() - this.retention.maxAgeMs) / 1000;
    let head = Math.max(this.head, this.events.length - this.retention.maxEvents);
    while (head < this.events.length && (this.events[head]?.time ?? 0) < cutoffS) head += 1;
    if (head === this.head) return;
    this.head = head;
    if (head * 2 >= this.events.length) {
      this.events = this.events.slice(head);
      this.head = 0;
    }
    this.sink?.retain(this.events[this.head]?.id ?? this.nextId, cutoffS);
  }

  /** The events kept, oldest first (a copy). */
  private kept(): MasterEvent[] {
    return this.events.slice(this.head);
  }
}
