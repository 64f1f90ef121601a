/**
 * The master's per-principal and per-call caps, and the bound on what waits for a stream's
 * reader: each refusal is coded and names the limit; a stream whose reader falls behind by more
 * than its bound is given up once, and nothing more is written to it.
 */
import { describe, expect, it } from 'vitest';
import { checkFrameworkCount, checkTasksPerAccept, masterLimits } from './limits.js';
import { Connection } from './records.js';

describe('master limits', () => {
  it('refuses a principal its next framework at the limit, naming it', () => {
    expect(() => {
      checkFrameworkCount('user bob', 63, 64);
    }).not.toThrow();
    expect(() => {
      checkFrameworkCount('user bob', 64, 64);
    }).toThrow(/GALAXY_E_LIMIT_EXCEEDED: user bob already has 64 frameworks .*frameworksPerPrincipal 64/);
  });

  it('refuses an ACCEPT launching more tasks than the limit', () => {
    expect(() => {
      checkTasksPerAccept(1000, 1000);
    }).not.toThrow();
    expect(() => {
      checkTasksPerAccept(1001, 1000);
    }).toThrow(/GALAXY_E_LIMIT_EXCEEDED: the ACCEPT launches 1001 tasks; .*tasksPerAccept/);
  });

  it('takes overrides and refuses nonsense', () => {
    expect(masterLimits({ tasksPerAccept: 5 }).tasksPerAccept).toBe(5);
    expect(() => masterLimits({ streamQueueBytes: -1 })).toThrow(
      /GALAXY_E_INVALID_ARGUMENT: master limit streamQueueBytes/,
    );
  });
});

/** A stream whose reader takes messages only when told. */
function slowStream() {
  const pending: (() => void)[] = [];
  const written: string[] = [];
  return {
    written,
    pending,
    stream: {
      write(message: string, done?: () => void) {
        written.push(message);
        if (done) pending.push(done);
        return true;
      },
      end() {
        return undefined;
      },
    },
  };
}

describe('a bounded connection', () => {
  it('counts what the reader has not taken and gives up once past the bound', () => {
    const { stream, pending, written } = slowStream();
    const overflows: number[] = [];
    const connection = new Connection<string>(stream, {
      measure: (m) => m.length,
      maxQueuedBytes: 10,
      overflow: (queued) => overflows.push(queued),
    });
    connection.send('12345');
    connection.send('12345');
    expect(connection.queued).toBe(10);
    expect(overflows).toEqual([]);
    pending.shift()?.();
    expect(connection.queued).toBe(5);
    connection.send('123456');
    expect(overflows).toEqual([11]);
    connection.send('more');
    expect(written).toEqual(['12345', '12345', '123456']);
    expect(overflows).toEqual([11]);
  });

  it('never gives up on a reader that keeps up', () => {
    const { stream, pending } = slowStream();
    const overflows: number[] = [];
    const connection = new Connection<string>(stream, {
      measure: (m) => m.length,
      maxQueuedBytes: 10,
      overflow: (queued) => overflows.push(queued),
    });
    for (let i = 0; i < 1000; i += 1) {
      connection.send('123456789');
      pending.shift()?.();
    }
    expect(overflows).toEqual([]);
    expect(connection.queued).toBe(0);
  });
});
