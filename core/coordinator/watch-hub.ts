/**
 * The watches of one coordinator session: who listens under which prefix. Changes are delivered
 * asynchronously (a microtask each) but in the order they were emitted, and never to a watch
 * that was removed before the delivery.
 */
import type { KeyChange, Unwatch } from './coordinator.js';
import { isUnder } from './keys.js';

interface Watch {
  readonly prefix: string;
  readonly onChange: (change: KeyChange) => void;
}

/** A set of watches and the delivery of changes to them. */
export class WatchHub {
  private readonly watches = new Set<Watch>();

  /** Adds a watch of `prefix`; the result removes it. */
  add(prefix: string, onChange: (change: KeyChange) => void): Unwatch {
    const watch: Watch = { prefix, onChange };
    this.watches.add(watch);
    return () => {
      this.watches.delete(watch);
    };
  }

  /** True when some watch covers `key`. */
  covers(key: string): boolean {
    for (const w of this.watches) if (isUnder(key, w.prefix)) return true;
    return false;
  }

  /** The distinct prefixes watched. */
  prefixes(): string[] {
    return [...new Set([...this.watches].map((w) => w.prefix))];
  }

  /** Delivers `change` to every watch covering its key. A throwing callback does not stop the others. */
  emit(change: KeyChange): void {
    for (const watch of this.watches) {
      if (!isUnder(change.key, watch.prefix)) continue;
      queueMicrotask(() => {
        if (!this.watches.has(watch)) return;
        try {
          watch.onChange(change);
        } catch {
          // A watcher's bug must not break the coordinator or the other watchers.
        }
      });
    }
  }

  /** Removes every watch. */
  clear(): void {
    this.watches.clear();
  }
}
