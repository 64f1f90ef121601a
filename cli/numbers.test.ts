import { describe, expect, it } from 'vitest';
import { parseCount, parseSecondsFlag } from './numbers.js';

describe('numeric flags', () => {
  it('takes whole numbers in range', () => {
    expect(parseCount('10', '--tail', 100)).toBe(10);
    expect(parseCount(' 0 ', '--tail', 100)).toBe(0);
  });

  it('refuses what is not a plain whole number in range, naming the flag', () => {
    for (const bad of ['ten', '-1', '1e3', '0x10', '1.5', '', '101'])
      expect(() => parseCount(bad, '--tail', 100)).toThrow(
        `GALAXY_E_INVALID_ARGUMENT: --tail must be a whole number from 0 to 100, got "${bad}"`,
      );
  });

  it('takes seconds above 0 and refuses the rest', () => {
    expect(parseSecondsFlag('0.5', '--timeout', 60)).toBe(0.5);
    for (const bad of ['0', 'abc', '-3', '61', 'Infinity'])
      expect(() => parseSecondsFlag(bad, '--timeout', 60)).toThrow(/GALAXY_E_INVALID_ARGUMENT: --timeout must be/);
  });
});
