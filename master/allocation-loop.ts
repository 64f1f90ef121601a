/**
 * Runs allocation on an interval and on events. Events coalesce: however many arrive in one turn
 * of the event loop, allocation runs once.
 */
export class AllocationLoop {
  private interval?: NodeJS.Timeout;
  private pending = false;
  private stopped = false;

  /**
   * @param run one allocation pass
   * @param intervalMs the batch interval (Mesos' `--allocation_interval`, default 1 s)
   */
  constructor(
    private readonly run: () => void,
    private readonly intervalMs: number,
  ) {}

  /** Starts the interval. */
  start(): void {
    this.interval = setInterval(() => {
      this.trigger();
    }, this.intervalMs);
    this.interval.unref();
  }

  /** Asks for an allocation soon; repeated calls before it runs are merged. */
  trigger(): void {
    if (this.pending || this.stopped) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      if (!this.stopped) this.run();
    });
  }

  /** Stops allocating. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.interval);
  }
}
