/**
 * A queue of received messages with a predicate-based wait, for tests of streaming protocols.
 * Product code, not test code: the fake masters plugin authors test against (`agent/testing/`,
 * `frameworks/sdk/testing/`) use it and ship with Galaxy, where `test/` does not.
 */
export class MessageLog<T> {
  readonly items: T[] = [];
  private waiters: { predicate: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  /** Records an item and wakes waiters whose predicate matches it. */
  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.predicate(item)) return true;
      w.resolve(item);
      return false;
    });
  }

  /** Resolves with the first item (already received or future) matching `predicate`. */
  waitFor(predicate: (item: T) => boolean, timeoutMs = 10_000, what = 'a matching message'): Promise<T> {
    const found = this.items.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      });
    });
  }

  /** Forgets what was received so far. */
  clear(): void {
    this.items.length = 0;
  }
}

/** Polls `check` until it returns a value that is not undefined/false. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'a condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
