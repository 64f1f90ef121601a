import { describe, expect, it } from 'vitest';
import { formatCursor, parseCursor, positionOf, sincePosition } from './cursor.js';

const files = [
  { ino: '10', size: 5, mtimeMs: 1000 },
  { ino: '11', size: 7, mtimeMs: 2000 },
  { ino: '12', size: 3, mtimeMs: 3000 },
];

describe('log cursors', () => {
  it('round-trips and refuses malformed text', () => {
    expect(parseCursor(formatCursor('12', 3))).toEqual({ ino: '12', offset: 3 });
    for (const bad of ['', '12', '12:', 'x:1', '1:-1', '../1:2']) expect(parseCursor(bad)).toBeUndefined();
  });

  it('stays in its file while it has more, then moves to the next newer one', () => {
    expect(positionOf(files, '11:2')).toEqual({ index: 1, offset: 2, gap: false });
    expect(positionOf(files, '11:7')).toEqual({ index: 2, offset: 0, gap: false });
    expect(positionOf(files, '12:3')).toEqual({ index: 2, offset: 3, gap: false });
  });

  it('starts over at the oldest file with a gap when its file is gone or shrank', () => {
    expect(positionOf(files, '9:1')).toEqual({ index: 0, offset: 0, gap: true });
    expect(positionOf(files, '12:9')).toEqual({ index: 2, offset: 0, gap: true });
    expect(positionOf(files, '')).toEqual({ index: 0, offset: 0, gap: false });
    expect(positionOf([], '')).toBeUndefined();
  });

  it('starts --since at the first file written since then, else at the end', () => {
    expect(sincePosition(files, 1500)).toEqual({ index: 1, offset: 0, gap: false });
    expect(sincePosition(files, 9000)).toEqual({ index: 2, offset: 3, gap: false });
  });
});
