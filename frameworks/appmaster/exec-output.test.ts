/**
 * The bounds of `galaxy job exec`: each stream of a result fits its cap in UTF-8 (also when the
 * bytes printed were not UTF-8 and decode larger), says what it dropped, and a pull carries results
 * up to its budget; execs waiting per pod and per user are capped, and so is a command's length.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExecOutput } from '../../proto/gen/galaxy/v1/appmaster.js';
import {
  boundOutput,
  boundResult,
  checkExecCommand,
  MAX_EXEC_COMMAND_BYTES,
  MAX_EXEC_OUTPUT_BYTES,
  PendingExecs,
  withinBudget,
} from './exec-output.js';

describe('boundOutput', () => {
  it('leaves short output alone', () => {
    expect(boundOutput('hello\n')).toBe('hello\n');
  });

  it('cuts long output to the cap and says how much was printed', () => {
    const out = boundOutput('x'.repeat(100), 50, 64);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(64);
    expect(out).toMatch(/^x*\n\[galaxy: output truncated to 64 bytes; 150 bytes were printed\]\n$/);
  });

  it('measures UTF-8, so text that decoded larger than its bytes still fits', () => {
    const replacement = Buffer.alloc(MAX_EXEC_OUTPUT_BYTES, 0xff).toString('utf8');
    expect(Buffer.byteLength(replacement)).toBe(3 * MAX_EXEC_OUTPUT_BYTES);
    const out = boundOutput(replacement);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(MAX_EXEC_OUTPUT_BYTES);
    // Whole characters only: no half of one survives the cut.
    expect(out.split('\n')[0]).toMatch(/^\uFFFD+$/u);
  });

  it('always fits, whatever the text and cap', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.nat(200),
        fc.integer({ min: 80, max: 400 }),
        (text, dropped, max) => {
          const out = boundOutput(text, dropped, max);
          return Buffer.byteLength(out) <= max && (dropped > 0 || Buffer.byteLength(text) > max || out === text);
        },
      ),
    );
  });

  it('bounds both streams of a result a pod sends', () => {
    const big = 'y'.repeat(MAX_EXEC_OUTPUT_BYTES * 4);
    const result = boundResult({ exitCode: 0, stdout: big, stderr: big });
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(MAX_EXEC_OUTPUT_BYTES);
    expect(Buffer.byteLength(result.stderr)).toBeLessThanOrEqual(MAX_EXEC_OUTPUT_BYTES);
  });
});

describe('withinBudget', () => {
  const output = (execId: string, bytes: number): ExecOutput => ({
    execId,
    result: { exitCode: 0, stdout: 'z'.repeat(bytes), stderr: '' },
  });

  it('takes the oldest results that fit, and always the first', () => {
    const results = [output('a', 400), output('b', 400), output('c', 400)];
    expect(withinBudget(results, 900).map((r) => r.execId)).toEqual(['a', 'b']);
    expect(withinBudget(results, 10).map((r) => r.execId)).toEqual(['a']);
    expect(withinBudget([], 10)).toEqual([]);
  });
});

describe('PendingExecs', () => {
  it('caps the execs waiting per pod and per user, and frees a slot once per release', () => {
    const execs = new PendingExecs(2, 3);
    expect(() => execs.admit('bob', 'web-0', 2)).toThrow(
      /GALAXY_E_LIMIT_EXCEEDED: pod web-0 already has 2 execs waiting/,
    );
    const releases = [execs.admit('bob', 'web-0', 0), execs.admit('bob', 'web-1', 0), execs.admit('bob', 'web-2', 0)];
    expect(() => execs.admit('bob', 'web-3', 0)).toThrow(
      /GALAXY_E_LIMIT_EXCEEDED: user bob already has 3 execs waiting/,
    );
    expect(execs.admit('alice', 'web-3', 0)).toBeTypeOf('function');
    releases[0]?.();
    releases[0]?.();
    expect(execs.of('bob')).toBe(2);
    expect(execs.admit('bob', 'web-3', 0)).toBeTypeOf('function');
  });

  it('refuses a command over the length limit', () => {
    expect(() => {
      checkExecCommand('x'.repeat(MAX_EXEC_COMMAND_BYTES));
    }).not.toThrow();
    expect(() => {
      checkExecCommand('x'.repeat(MAX_EXEC_COMMAND_BYTES + 1));
    }).toThrow(/GALAXY_E_TOO_LARGE: the exec command is 65537 bytes; the limit is 65536/);
  });
});
