/**
 * `galaxy agent --oversubscribe` and its tuning flags, checked (docs/resources.md, "Revocable
 * resources").
 */
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { parseSize } from '../core/sizes.js';
import type { OversubscriptionOptions } from '../agent/oversubscription/controller.js';

/** The flags as commander parses them. */
export interface OversubscribeFlags {
  oversubscribe?: boolean;
  oversubscribeMargin?: string;
  oversubscribeInterval?: string;
  qosMinIdle?: string;
  qosMinMemAvailable?: string;
}

/** Declares the flags on `command`. */
export function oversubscribeOptions(command: Command): Command {
  return command
    .option(
      '--oversubscribe',
      'estimate allocated-but-unused cpu and mem of the regular tasks and lend it as revocable resources; evict revocable tasks when the regular ones need it back (containers only)',
    )
    .option('--oversubscribe-margin <fraction>', 'fraction of each task allocation never lent (default 0.2)')
    .option('--oversubscribe-interval <s>', 'seconds between usage samples (default 5)')
    .option(
      '--qos-min-idle <fraction>',
      'idle cpu under which throttled regular tasks evict revocable ones (default 0.1; 0 = off)',
    )
    .option(
      '--qos-min-mem-available <size>',
      'available memory under which revocable tasks are evicted (default 256MiB; 0 = off)',
    );
}

function fraction(text: string, flag: string): number {
  const value = Number(text);
  if (!(text.trim() !== '' && value >= 0 && value < 1))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag} takes a fraction in [0, 1), got "${text}"`);
  return value;
}

/** The agent's oversubscription options, or undefined without `--oversubscribe`; throws on a bad value. */
export function oversubscriptionFromFlags(flags: OversubscribeFlags): OversubscriptionOptions | undefined {
  const tuned = [flags.oversubscribeMargin, flags.oversubscribeInterval, flags.qosMinIdle, flags.qosMinMemAvailable];
  if (flags.oversubscribe !== true) {
    if (tuned.some((v) => v !== undefined))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        'the --oversubscribe-* and --qos-* flags need --oversubscribe',
      );
    return undefined;
  }
  let intervalMs: number | undefined;
  if (flags.oversubscribeInterval !== undefined) {
    const seconds = Number(flags.oversubscribeInterval);
    if (!(seconds >= 0.1 && seconds <= 3600))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `--oversubscribe-interval takes seconds between 0.1 and 3600, got "${flags.oversubscribeInterval}"`,
      );
    intervalMs = seconds * 1000;
  }
  return {
    ...(intervalMs === undefined ? {} : { intervalMs }),
    estimator:
      flags.oversubscribeMargin === undefined
        ? {}
        : { margin: fraction(flags.oversubscribeMargin, '--oversubscribe-margin') },
    qos: {
      ...(flags.qosMinIdle === undefined ? {} : { minIdle: fraction(flags.qosMinIdle, '--qos-min-idle') }),
      ...(flags.qosMinMemAvailable === undefined
        ? {}
        : {
            minMemAvailable:
              flags.qosMinMemAvailable.trim() === '0'
                ? 0
                : parseSize(flags.qosMinMemAvailable, '--qos-min-mem-available'),
          }),
    },
  };
}
