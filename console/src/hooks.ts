/** Data that refreshes itself. */
import { useEffect, useState } from 'preact/hooks';

/** What a poll shows: the latest value, or the latest error. */
export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  /** Asks again now. */
  readonly refresh: () => void;
}

/** Calls `load` now and every `ms` while the component is shown. */
export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[] = []): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    const run = () => {
      load().then(
        (value) => {
          if (!live) return;
          setData(value);
          setError(undefined);
        },
        (e: unknown) => {
          if (live) setError(e instanceof Error ? e : new Error(String(e)));
        },
      );
    };
    run();
    const timer = setInterval(run, ms);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [tick, ...deps]);
  return {
    data,
    error,
    refresh: () => {
      setTick((t) => t + 1);
    },
  };
}
