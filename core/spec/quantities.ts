/**
 * Quantities as people write them in specs (`256Mi`, `0.5` cores or `500m`, `10M` bits per
 * second), read into integers: bytes, millicores, bits per second. Shared by every spec schema.
 */
import { z } from 'zod';
import { readSize } from '../sizes.js';

/**
 * Bytes: a whole number of bytes (the machine form, as a parsed spec holds it), or a size with a
 * unit such as `256Mi`, `1.5GiB`, `512k` (`core/sizes.ts`, the CLI's rule too; a bare number in a
 * string is ambiguous and refused).
 */
export const bytes = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const reading = readSize(value);
  if ('problem' in reading) {
    ctx.addIssue({ code: 'custom', message: reading.problem });
    return z.NEVER;
  }
  return reading.bytes;
});

/** Bits per second: a whole number, or a string such as `10M`, `1G`, `500k` (decimal units). */
export const bitsPerSecond = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:bit|bps)?\s*$/.exec(value);
  const factor = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(match?.[2] ?? '').toLowerCase()] ?? 1;
  const rate = match?.[1] ? Math.round(Number(match[1]) * factor) : NaN;
  if (!Number.isSafeInteger(rate)) {
    ctx.addIssue({ code: 'custom', message: `cannot read "${value.slice(0, 40)}" as a rate (try 10M or 500k)` });
    return z.NEVER;
  }
  return rate;
});

/**
 * CPU in millicores: a whole number (`500`), or a string of millicores (`500m`) or cores (`"0.5"`).
 * Parsing is idempotent: a parsed spec is itself a valid spec.
 */
export const millicores = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+)m\s*$/.exec(value);
  const cores = match?.[1] ? Number(match[1]) / 1000 : /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(cores) || cores <= 0 || cores > 1024) {
    ctx.addIssue({ code: 'custom', message: `cannot read "${value.slice(0, 40)}" as cpu (try 500m or "0.5")` });
    return z.NEVER;
  }
  return Math.max(1, Math.round(cores * 1000));
});

/**
 * CPU in cores, as `--resources "cpus:0.5"` reads it: a number of cores (`0.5`, `2`), or a string of
 * cores (`"0.5"`) or millicores (`500m`). Comes out in millicores; 0 is allowed (a task may ask
 * for memory only).
 */
export const cores = z.union([z.number().nonnegative().max(1024), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return Math.round(value * 1000);
  const match = /^\s*(\d+)m\s*$/.exec(value);
  const n = match?.[1] ? Number(match[1]) / 1000 : /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1024) {
    ctx.addIssue({ code: 'custom', message: `cannot read "${value.slice(0, 40)}" as cpus (try 0.5 or 500m)` });
    return z.NEVER;
  }
  return Math.round(n * 1000);
});
