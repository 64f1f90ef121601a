/**
 * A sticky wake-up call: {@link Wakeup.notify} ends the current {@link Wakeup.wait} at once, or the
 * next one when nobody is waiting, so a change that happens between two waits is not lost.
 */
export class Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  /** Something changed. */
  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Forgets earlier notifications (the caller is about to act on the current state). */
  clear(): void {
    this.pending = false;
  }

  /** Resolves after `ms`, or earlier on a notification; true when notified. */
  wait(ms: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pending = false;
        resolve(true);
      };
    });
  }
}
