/**
 * What a framework tells the master's event log (PUBLISH_EVENTS): job and pod events, queued and
 * sent in batches once a second, so that a busy framework makes one call per second, not one per
 * event. The queue is bounded: past {@link MAX_QUEUED} the oldest events are dropped (and
 * counted), never the framework's memory. Events queued while the master is away are sent once it
 * is back; a batch the master refuses is logged and dropped (it would be refused again).
 */
import { GalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { FrameworkEvent } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { SchedulerDriver } from './driver.js';

/** Events kept while they cannot be sent. */
export const MAX_QUEUED = 5000;
/** Events per call (the master takes at most 500). */
const BATCH = 500;
/** How often the queue is sent. */
const FLUSH_MS = 1000;

/** An event to publish: its kind and what applies. */
export type PublishedEvent = Partial<FrameworkEvent> & { readonly kind: string };

/** Publishes a framework's events to the master in batches. */
export class EventPublisher {
  private queue: FrameworkEvent[] = [];
  private timer?: NodeJS.Timeout;
  private sending = false;
  /** Events dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly driver: () => SchedulerDriver | undefined,
    private readonly log: Logger,
    private readonly flushMs = FLUSH_MS,
  ) {}

  /** Queues an event; it is sent within about a second. */
  publish(event: PublishedEvent): void {
    this.queue.push({
      user: '',
      actor: '',
      job: '',
      pod: '',
      agentId: '',
      taskId: '',
      state: '',
      reason: '',
      message: '',
      ...event,
    });
    if (this.queue.length > MAX_QUEUED) {
      this.dropped += this.queue.length - MAX_QUEUED;
      this.queue.splice(0, this.queue.length - MAX_QUEUED);
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
    this.timer.unref();
  }

  /** Sends what is queued now (one call per batch of 500). */
  async flush(): Promise<void> {
    const driver = this.driver();
    if (this.sending || !driver?.frameworkId || !driver.publishEvents) {
      if (this.queue.length > 0) this.rearm();
      return;
    }
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, BATCH);
        try {
          await driver.publishEvents(batch);
          this.queue.splice(0, batch.length);
        } catch (error) {
          const transient =
            error instanceof GalaxyError && ['GALAXY_E_UNAVAILABLE', 'GALAXY_E_NOT_LEADER'].includes(error.code);
          if (transient) break;
          this.queue.splice(0, batch.length);
          this.log.warn({ err: String(error), events: batch.length }, 'the master refused published events; dropped');
        }
      }
    } finally {
      this.sending = false;
    }
    if (this.queue.length > 0) this.rearm();
  }

  /** Sends what is left and stops the timer. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => undefined);
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private rearm(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
    this.timer.unref();
  }
}
