/**
 * Numeric CLI flags, validated before any call: a clear coded error names the flag, what it takes
 * and what it got (`--tail must be a whole number from 0 to 1000000, got "ten"`).
 */
import { GalaxyError } from '../core/errors.js';

/** A whole number from `min` to `max` (digits only: no `1e3`, no `0x10`, no sign). */
export function parseCount(text: string, flag: string, max: number, min = 0): number {
  const value = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `${flag} must be a whole number from ${min} to ${max}, got "${text}"`,
    );
  return value;
}

/** A number of seconds, more than 0 and at most `max` (fractions allowed: `0.5`). */
export function parseSecondsFlag(text: string, flag: string, max: number): number {
  const value = /^\d{1,9}(\.\d{1,3})?$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0 || value > max)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `${flag} must be a number of seconds above 0 and at most ${max}, got "${text}"`,
    );
  return value;
}
