/**
 * Bearer tokens: `glx_` + base64url of 32 random bytes. Only their SHA-256 is ever stored, and
 * comparisons are made on hashes, so a stored record never lets anyone call as its owner.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What every Galaxy token starts with (so a leaked one is recognisable by secret scanners). */
export const TOKEN_PREFIX = 'glx_';

/** A fresh token. Show it once; keep only {@link tokenHash} of it. */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The SHA-256 (hex) of a token: what records keep. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when `token` hashes to `sha256` (constant time in the hash). */
export function tokenMatches(token: string, sha256: string): boolean {
  const actual = Buffer.from(tokenHash(token), 'hex');
  const expected = Buffer.from(sha256, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Anything shaped like a Galaxy token, for scanning logs and output for leaks. */
export const TOKEN_PATTERN = /glx_[A-Za-z0-9_-]{43}/g;

/** Every token-shaped string in `text` (a leak, wherever it is not expected). */
export function findTokens(text: string): string[] {
  return [...text.matchAll(TOKEN_PATTERN)].map((m) => m[0]);
}
