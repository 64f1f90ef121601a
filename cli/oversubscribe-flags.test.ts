import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../core/errors.js';
import { oversubscriptionFromFlags } from './oversubscribe-flags.js';

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    return isGalaxyError(error) ? `${error.code}: ${error.detail}` : String(error);
  }
  return 'accepted';
}

describe('oversubscriptionFromFlags', () => {
  it('is off without --oversubscribe, and refuses its tuning flags alone', () => {
    expect(oversubscriptionFromFlags({})).toBeUndefined();
    expect(refusal(() => oversubscriptionFromFlags({ oversubscribeMargin: '0.3' }))).toMatch(/need --oversubscribe/);
  });

  it('reads the margin, the interval and the QoS thresholds', () => {
    expect(
      oversubscriptionFromFlags({
        oversubscribe: true,
        oversubscribeMargin: '0.3',
        oversubscribeInterval: '0.5',
        qosMinIdle: '0',
        qosMinMemAvailable: '512MiB',
      }),
    ).toEqual({ intervalMs: 500, estimator: { margin: 0.3 }, qos: { minIdle: 0, minMemAvailable: 512 * 1024 ** 2 } });
    expect(oversubscriptionFromFlags({ oversubscribe: true })).toEqual({ estimator: {}, qos: {} });
  });

  it('refuses a margin outside [0, 1), an interval out of range and a bad size', () => {
    expect(refusal(() => oversubscriptionFromFlags({ oversubscribe: true, oversubscribeMargin: '1' }))).toMatch(
      /GALAXY_E_INVALID_ARGUMENT: --oversubscribe-margin takes a fraction/,
    );
    expect(refusal(() => oversubscriptionFromFlags({ oversubscribe: true, oversubscribeInterval: '0' }))).toMatch(
      /--oversubscribe-interval takes seconds/,
    );
    expect(refusal(() => oversubscriptionFromFlags({ oversubscribe: true, qosMinMemAvailable: 'lots' }))).toMatch(
      /--qos-min-mem-available/,
    );
  });
});
