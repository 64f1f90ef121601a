/**
 * Priority bands (Borg's): monitoring > production > batch > best-effort. A task may be
 * preempted only for a task of a strictly higher band; an unspecified band counts as production.
 */
import { Band } from '../proto/gen/galaxy/v1/common.js';

export { Band };

/** The band a task or request really has: unspecified counts as production. */
export function effectiveBand(band: Band | undefined): Band {
  return band === undefined || band === Band.BAND_UNSPECIFIED || band === Band.UNRECOGNIZED
    ? Band.BAND_PRODUCTION
    : band;
}

/** True when a task of `victim` band may be preempted for a task of `preemptor` band. */
export function mayPreempt(preemptor: Band, victim: Band): boolean {
  return effectiveBand(victim) < effectiveBand(preemptor);
}

const NAMES: Record<number, string> = {
  [Band.BAND_BEST_EFFORT]: 'best-effort',
  [Band.BAND_BATCH]: 'batch',
  [Band.BAND_PRODUCTION]: 'production',
  [Band.BAND_MONITORING]: 'monitoring',
};

/** `best-effort`, `batch`, `production` or `monitoring`. */
export function bandName(band: Band | undefined): string {
  return NAMES[effectiveBand(band)] ?? 'production';
}

/**
 * The band of a name as job specs write it: `monitoring`, `production` (or `service`, the
 * AppMaster's word for it), `batch`, `best-effort`; anything else (and '') is production.
 */
export function bandOf(name: string): Band {
  switch (name) {
    case 'monitoring':
      return Band.BAND_MONITORING;
    case 'batch':
      return Band.BAND_BATCH;
    case 'best-effort':
      return Band.BAND_BEST_EFFORT;
    default:
      return Band.BAND_PRODUCTION;
  }
}

/** Status reason of a task the master killed to make room for a higher band: not a failure of the task. */
export const PREEMPTED_REASON = 'preempted';
