/**
 * A bounded number of things at once: callers beyond the bound wait their turn, in order. The
 * agent starts containers through it so that a burst of launches (a batch job of thousands) does
 * not set up hundreds of containers at once, each contending for the kernel's cgroup and mount
 * locks: the machine's load stays near its cores and the launches finish sooner.
 */
export class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  /** @param size how many may run at once (at least 1) */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots must be a positive integer, not ${size}`);
  }

  /**
   * Runs `work` once a slot is free, and frees the slot when it settles, or before when `work`
   * calls the `release` it is given (once the part worth bounding is done; later calls do nothing).
   */
  async run<T>(work: (release: () => void) => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy += 1;
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      // The slot passes straight to the next waiter, or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy -= 1;
    };
    try {
      return await work(release);
    } finally {
      release();
    }
  }
}
