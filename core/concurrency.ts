/**
 * Bounded concurrency: many independent waits (coordinator reads of thousands of keys) overlap,
 * up to a limit, instead of one round trip after another (issue 16: a master reading 12,000 agent
 * credentials from ZooKeeper one at a time took longer than its start may).
 */

/** Runs `work` on every item, at most `limit` at once; resolves with the results in order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
