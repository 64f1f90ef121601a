/**
 * `galaxy master --limit name=value`: the master's bounds (`master/limits.ts`) and its server's
 * (`core/grpc-limits.ts`) from the command line. Sizes take KiB/MiB/GiB, durations ms/s/m/h.
 */
import { GalaxyError } from '../core/errors.js';
import { parseSize } from '../core/sizes.js';
import { defaultServerLimits } from '../core/grpc-limits.js';
import { DEFAULT_MASTER_LIMITS, type MasterLimits } from '../master/limits.js';

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** A duration such as `30s`, `5m` or `1500ms` (a bare number is milliseconds), in ms. */
function parseDuration(text: string, where: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where}: "${text}" is not a duration (e.g. 30s, 5m, 24h)`);
  return Math.round(Number(match[1]) * (DURATION_MS[match[2] ?? 'ms'] ?? 1));
}

/** The value of limit `name` as written: sizes for *Bytes, durations for *Ms, else a count. */
function parseValue(name: string, text: string): number {
  const where = `--limit ${name}`;
  // The name says the unit: a bare number is bytes here.
  if (name.endsWith('Bytes')) return /^\d+$/.test(text.trim()) ? Number(text) : parseSize(text, where);
  if (name.endsWith('Ms')) return parseDuration(text, where);
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where}: "${text}" is not a whole number`);
  return n;
}

/** `["frameworksPerPrincipal=8", "maxConnections=512"]` → master limits with the server's inside. */
export function parseMasterLimits(flags: readonly string[]): Partial<MasterLimits> {
  const serverNames = Object.keys(defaultServerLimits());
  const masterNames = Object.keys(DEFAULT_MASTER_LIMITS).filter((n) => n !== 'server');
  const server: Record<string, number> = {};
  const master: Record<string, number> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const name = flag.slice(0, eq);
    if (eq < 0 || (!serverNames.includes(name) && !masterNames.includes(name)))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `--limit takes name=value with a name of ${[...masterNames, ...serverNames].join(', ')}; got "${flag}"`,
      );
    (serverNames.includes(name) ? server : master)[name] = parseValue(name, flag.slice(eq + 1));
  }
  return { ...master, server };
}
