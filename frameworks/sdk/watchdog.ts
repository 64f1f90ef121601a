/**
 * Detects a silent connection. A TCP connection to a master that died without closing it (a
 * power cut, a partition) can look open for minutes; the master's periodic HEARTBEAT events make
 * silence measurable, so the driver reconnects instead of waiting on a dead stream.
 */

/** Calls `onSilence` once when nothing was heard for longer than the armed limit. */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private limitMs = 0;

  /** @param onSilence called at most once per {@link arm}, with the silence it measured */
  constructor(private readonly onSilence: (silentMs: number) => void) {}

  /**
   * Starts (or restarts) watching: silence longer than `limitMs` fires `onSilence`. A limit that
   * is not a positive number disarms the watchdog, since a master without heartbeats cannot be
   * told apart from a quiet one.
   */
  arm(limitMs: number): void {
    this.disarm();
    if (!(limitMs > 0)) return;
    this.limitMs = limitMs;
    this.lastHeard = Date.now();
    // Checking a few times per limit bounds the detection delay to about 1.25 × the limit.
    this.timer = setInterval(
      () => {
        this.check();
      },
      Math.max(10, Math.round(limitMs / 4)),
    );
    // The watchdog alone must never keep a process alive.
    this.timer.unref();
  }

  /** Something arrived: the connection is alive. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  /** Stops watching. */
  disarm(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const silentMs = Date.now() - this.lastHeard;
    if (silentMs <= this.limitMs) return;
    this.disarm();
    this.onSilence(silentMs);
  }
}
