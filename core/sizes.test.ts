/**
 * The one size rule of the CLI and job specs: a unit is required (binary, several spellings), a
 * bare number other than 0 is refused as ambiguous, and every refusal names the text and a fix.
 */
import { describe, expect, it } from 'vitest';
import { parseSize, readSize } from './sizes.js';

const GiB = 1024 ** 3;

describe('sizes', () => {
  it('reads every spelling of the binary units, in any case, fractions rounded to bytes', () => {
    for (const text of ['8Gi', '8GiB', '8G', '8gb', ' 8 gi ']) expect(parseSize(text)).toBe(8 * GiB);
    expect(parseSize('1.5Mi')).toBe(1.5 * 1024 ** 2);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('100B')).toBe(100);
    expect(parseSize('1Ti')).toBe(1024 ** 4);
    expect(parseSize('0')).toBe(0);
    expect(parseSize('0.3B')).toBe(0);
  });

  it('refuses a bare number as ambiguous, naming the ways to say what is meant', () => {
    expect(() => parseSize('512', '--mem')).toThrow(
      'GALAXY_E_INVALID_RESOURCES: --mem: "512" has no unit, so it is ambiguous: write 512Mi for MiB, 512Gi for GiB or 512B for bytes',
    );
    expect(readSize('4096')).toEqual({ problem: expect.stringContaining('ambiguous') as string });
  });

  it('refuses unknown units, non-numbers and sizes beyond a safe integer', () => {
    expect(() => parseSize('3 parsecs', 'x')).toThrow('x: cannot read "3 parsecs" as a size: unknown unit "parsecs"');
    expect(() => parseSize('lots')).toThrow('cannot read "lots" as a size (try 256Mi or 1Gi)');
    expect(() => parseSize('-1Gi')).toThrow('cannot read');
    expect(() => parseSize(`${'9'.repeat(30)}Ti`)).toThrow('too large');
  });
});
