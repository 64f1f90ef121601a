/**
 * Flags of `galaxy sim`: positive numbers and shards, refused with a coded error naming the flag.
 */
import { GalaxyError } from '../core/errors.js';

/** A positive number from a flag, or a coded error naming it. */
export function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag} must be a positive number, got "${value}"`);
  return n;
}

/** `i/n`: this process's share of the machines (every n-th from the i-th). */
export function parseShard(value: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index >= count)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--shard must be i/n with 0 <= i < n, got "${value}"`);
  return { index, count };
}

/** The machines of shard `index` of `count`: every count-th, so each shard has every shape. */
export function shardOf<T>(machines: readonly T[], index: number, count: number): T[] {
  return machines.filter((_, i) => i % count === index);
}
