/**
 * The event log kept through the {@link Coordinator} (local: or ZooKeeper), in batches: events are
 * written in segments of up to {@link SEGMENT_EVENTS} events (and {@link SEGMENT_BYTES}), one key
 * each under `/galaxy/master/events/<first id>`. Appending only queues; at most one write is in
 * flight, once per `flushMs`, rewriting the open segment with what arrived since (one coordinator
 * write per interval, whatever the rate of events). Whole segments past the retention are deleted.
 * A master that crashes loses at most the last interval's events; a clean stop flushes.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import { mapConcurrently } from '../../core/concurrency.js';
import type { MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';
import type { EventSink } from './log.js';

/** Where the segments live. */
export const EVENTS_PREFIX = '/galaxy/master/events';
/** Events per segment (a segment is one coordinator value). */
export const SEGMENT_EVENTS = 500;
/** Bytes of JSON per segment, well under the coordinator's value limit. */
export const SEGMENT_BYTES = 512 * 1024;
/** Segments read at once when a master loads the log. */
const LOAD_CONCURRENCY = 8;
/** How often queued events are written. */
export const DEFAULT_FLUSH_MS = 1000;

interface Segment {
  readonly key: string;
  readonly events: MasterEvent[];
  bytes: number;
  /** Written since its last change. */
  stored: boolean;
}

/** The segment key of a batch starting at `id` (zero-padded so that keys sort as ids). */
export function segmentKey(id: number): string {
  return `${EVENTS_PREFIX}/${String(id).padStart(17, '0')}`;
}

/** Keeps events in coordinator segments. */
export class CoordinatorEventStore implements EventSink {
  /** Oldest first; the last one is open (still filling). */
  private segments: Segment[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly log: Logger,
    private readonly flushMs = DEFAULT_FLUSH_MS,
  ) {}

  /**
   * Reads every stored segment, oldest first. A segment that cannot be read is reported and
   * skipped (it must not keep a master from leading) and deleted with the next retention pass.
   */
  async load(): Promise<MasterEvent[]> {
    const names = await this.coordinator.list(EVENTS_PREFIX);
    // Read overlapping: one after another, a retention's 20 segments of 512 KiB were 20 round
    // trips in a row before a new leader served (issue 16's failover).
    const values = await mapConcurrently(names, LOAD_CONCURRENCY, (name) =>
      this.coordinator.get(`${EVENTS_PREFIX}/${name}`),
    );
    const events: MasterEvent[] = [];
    for (const [i, name] of names.entries()) {
      const key = `${EVENTS_PREFIX}/${name}`;
      const stored = values[i];
      let batch: MasterEvent[];
      try {
        batch = stored ? (JSON.parse(stored.value) as MasterEvent[]) : [];
        if (!Array.isArray(batch)) throw new Error('not a list of events');
      } catch (error) {
        this.log.warn({ key, err: String(error) }, 'a stored batch of events cannot be read; skipped');
        batch = [];
      }
      events.push(...batch);
      // Loaded segments are sealed: new events start a segment of their own.
      this.segments.push({ key, events: batch, bytes: SEGMENT_BYTES, stored: true });
    }
    return events;
  }

  /** Queues an event; the next flush writes it. */
  enqueue(event: MasterEvent): void {
    if (this.closed) return;
    const bytes = JSON.stringify(event).length + 1;
    let open = this.segments.at(-1);
    if (!open || open.events.length >= SEGMENT_EVENTS || open.bytes + bytes > SEGMENT_BYTES) {
      open = { key: segmentKey(event.id), events: [], bytes: 2, stored: false };
      this.segments.push(open);
    }
    open.events.push(event);
    open.bytes += bytes;
    open.stored = false;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
    this.timer.unref();
  }

  /** Forgets whole segments whose every event is older than `oldestId` or `cutoffS`. */
  retain(oldestId: number, cutoffS: number): void {
    while (this.segments.length > 1) {
      const first = this.segments[0];
      const last = first?.events.at(-1);
      if (!first || (last && last.id >= oldestId && last.time >= cutoffS)) break;
      this.segments.shift();
      void this.coordinator.delete(first.key).catch((error: unknown) => {
        this.log.warn({ key: first.key, err: String(error) }, 'an expired batch of events could not be deleted');
      });
    }
  }

  /** Writes every changed segment; one flush at a time (a second waits for the first, then runs). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    const changed = this.segments.filter((s) => !s.stored);
    if (changed.length === 0) return;
    this.inFlight = (async () => {
      for (const segment of changed) {
        segment.stored = true;
        try {
          await this.coordinator.put(segment.key, JSON.stringify(segment.events));
        } catch (error) {
          // Kept for the next flush: a coordinator that is away for a moment loses nothing.
          segment.stored = false;
          this.log.warn({ key: segment.key, err: String(error) }, 'events could not be stored; retrying');
        }
      }
    })();
    try {
      await this.inFlight;
    } finally {
      this.inFlight = undefined;
    }
    if (!this.closed && this.segments.some((s) => !s.stored) && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what is queued and stops: later events are not stored. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    this.closed = true;
  }
}
