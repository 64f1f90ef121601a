/**
 * Coordinator keys: validation and the path arithmetic both backends share. A key is an
 * absolute `/`-separated path; `/` alone names the root and is accepted only where a prefix is
 * meant (list, watch, recursive delete).
 */
import { GalaxyError } from '../errors.js';

const SEGMENT = /^[A-Za-z0-9_.:@-]{1,200}$/;
const MAX_KEY_LENGTH = 1000;

/** The root prefix, under which every key lives. */
export const ROOT = '/';

/** Throws `GALAXY_E_INVALID_ARGUMENT` unless `key` is a valid key (the root `/` is not one). */
export function checkKey(key: string): void {
  if (key !== ROOT) checkPrefix(key);
  else throw invalidKey(key, 'the root "/" holds no value');
}

/** Like {@link checkKey}, but also accepts the root `/`. */
export function checkPrefix(prefix: string): void {
  if (prefix === ROOT) return;
  if (prefix.length > MAX_KEY_LENGTH) throw invalidKey(prefix, `longer than ${MAX_KEY_LENGTH} characters`);
  if (!prefix.startsWith('/')) throw invalidKey(prefix, 'it must start with "/"');
  const bad = prefix
    .slice(1)
    .split('/')
    .find((s) => !SEGMENT.test(s) || s === '.' || s === '..');
  if (bad !== undefined) {
    throw invalidKey(
      prefix,
      `segment "${bad.slice(0, 40)}" is empty, "." or "..", or has characters other than letters, digits and _ . : @ -`,
    );
  }
}

function invalidKey(key: string, why: string): GalaxyError {
  return new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `coordinator key "${key.slice(0, 80)}" is invalid: ${why}`);
}

/** The segments of a valid key or prefix (none for the root). */
export function segmentsOf(key: string): string[] {
  return key === ROOT ? [] : key.slice(1).split('/');
}

/** `child` appended to `prefix`. */
export function joinKey(prefix: string, child: string): string {
  return prefix === ROOT ? `/${child}` : `${prefix}/${child}`;
}

/** True when `key` is `prefix` itself or lies under it. */
export function isUnder(key: string, prefix: string): boolean {
  return prefix === ROOT || key === prefix || key.startsWith(`${prefix}/`);
}

/** The name of the direct child of `prefix` on the way to `key`, if `key` lies strictly under it. */
export function childOnPath(prefix: string, key: string): string | undefined {
  if (key === prefix || !isUnder(key, prefix)) return undefined;
  return segmentsOf(key)[segmentsOf(prefix).length];
}
