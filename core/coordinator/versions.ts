/**
 * The compare-and-set rules both backends apply, so that they agree on every edge: versions
 * start at 0 and grow by 1 per write; `expectedVersion: -1` means "only if absent".
 */
import { GalaxyError } from '../errors.js';
import { MAX_VALUE_BYTES, type Versioned } from './coordinator.js';

/** Throws `GALAXY_E_COORD_CONFLICT` unless `current` is at `expected` (no expectation: always fine). */
export function checkExpected(key: string, current: Versioned | undefined, expected: number | undefined): void {
  if (expected === undefined) return;
  if (!Number.isInteger(expected) || expected < -1) {
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `expectedVersion for ${key} must be -1 or a version, got ${expected}`,
    );
  }
  const actual = current?.version ?? -1;
  if (actual !== expected) {
    const found = current === undefined ? 'it does not exist' : `it is at version ${actual}`;
    const wanted = expected === -1 ? 'absent' : `at version ${expected}`;
    throw new GalaxyError(
      'GALAXY_E_COORD_CONFLICT',
      `${key} was expected ${wanted} but ${found}: read it again and retry`,
    );
  }
}

/** The version a write gives a key that is now at `current`. */
export function nextVersion(current: Versioned | undefined): number {
  return current === undefined ? 0 : current.version + 1;
}

/** The error of any call on a closed coordinator. */
export function closedError(description: string): GalaxyError {
  return new GalaxyError('GALAXY_E_COORD_UNAVAILABLE', `the coordinator ${description} is closed: open a new one`);
}

/** The error of an ephemeral write over a key another session (or no session) owns. */
export function ownedError(key: string): GalaxyError {
  return new GalaxyError(
    'GALAXY_E_COORD_EXISTS',
    `${key} exists and is not an ephemeral key of this session: delete it first or choose another key`,
  );
}

/** Throws `GALAXY_E_TOO_LARGE` when `value` is over {@link MAX_VALUE_BYTES}. */
export function checkValueSize(key: string, value: string): void {
  const size = Buffer.byteLength(value, 'utf8');
  if (size > MAX_VALUE_BYTES)
    throw new GalaxyError(
      'GALAXY_E_TOO_LARGE',
      `${key}: the value is ${size} bytes; a coordinator key holds at most ${MAX_VALUE_BYTES} bytes (ZooKeeper's jute.maxbuffer, 1 MiB by default, less room for the request)`,
    );
}
