import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ephemeralOverlap, offeredEphemeralPorts, parseEphemeralRange } from './ephemeral-ports.js';

describe('ephemeral ports', () => {
  it('parses the kernel file and refuses what is not a range', () => {
    expect(parseEphemeralRange('32768\t60999\n')).toEqual({ begin: 32768, end: 60999 });
    expect(parseEphemeralRange('')).toBeUndefined();
    expect(parseEphemeralRange('60999 32768')).toBeUndefined();
    expect(parseEphemeralRange('0 70000')).toBeUndefined();
    expect(parseEphemeralRange('a b')).toBeUndefined();
  });

  it('finds the offered ports an outgoing connection may take', () => {
    const ephemeral = { begin: 32768, end: 60999 };
    expect(ephemeralOverlap([{ begin: 31000, end: 32000 }], ephemeral)).toEqual([]);
    expect(
      ephemeralOverlap(
        [
          { begin: 31000, end: 33000 },
          { begin: 40000, end: 40009 },
          { begin: 61000, end: 62000 },
        ],
        ephemeral,
      ),
    ).toEqual([
      { begin: 32768, end: 33000 },
      { begin: 40000, end: 40009 },
    ]);
  });

  it('reads the range from the file and gives nothing when it is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'galaxy-ephemeral-'));
    try {
      const file = join(dir, 'range');
      await writeFile(file, '40000 40004\n');
      expect(await offeredEphemeralPorts([{ begin: 39000, end: 40001 }], file)).toEqual([{ begin: 40000, end: 40001 }]);
      expect(await offeredEphemeralPorts([{ begin: 39000, end: 40001 }], join(dir, 'absent'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
