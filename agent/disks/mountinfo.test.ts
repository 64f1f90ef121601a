/**
 * The mount table parser reads hostile text (anyone who can mount names the mount points):
 * - a well-formed line is read field by field, with the kernel's `\ooo` escapes decoded;
 * - whatever mount points, sources and options are, escaping them as the kernel does and parsing
 *   gives them back (fast-check);
 * - no text makes it throw, and every entry it returns has an absolute mount point and a device;
 * - a malformed line is dropped whole, never half-read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deviceNumbers,
  escapeMountField,
  mountAt,
  mountHolding,
  parseMountinfo,
  parseMountLine,
  unescapeMountField,
  type MountEntry,
} from './mountinfo.js';
import { enforcesProjectQuota } from './quota.js';

/** Any character a mount point may hold: those the kernel escapes, the separators, non-ASCII. */
const char = fc.oneof(
  fc.constantFrom(' ', '\t', '\n', '\\', '-', '/', ',', 'é', '日', '\u{1f4be}'),
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
);

const line = (e: MountEntry, optional = 'shared:1'): string =>
  [
    e.id,
    e.parentId,
    `${e.major}:${e.minor}`,
    escapeMountField(e.root),
    escapeMountField(e.mountPoint),
    e.options.join(','),
    ...(optional ? optional.split(' ') : []),
    '-',
    escapeMountField(e.fsType),
    escapeMountField(e.source),
    e.superOptions.join(','),
  ].join(' ');

describe('a mountinfo line', () => {
  it('is read field by field, escapes decoded', () => {
    const m = parseMountLine(
      '36 35 98:0 /mnt1 /mnt/my\\040disk\\011x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue',
    );
    expect(m).toEqual({
      id: 36,
      parentId: 35,
      major: 98,
      minor: 0,
      root: '/mnt1',
      mountPoint: '/mnt/my disk\tx',
      options: ['rw', 'noatime'],
      fsType: 'ext3',
      source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
  });

  it('has no optional fields at times', () => {
    expect(parseMountLine('26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard')?.mountPoint).toBe('/');
  });

  it.each([
    ['too few fields', '26 1 254:0 / / rw - ext4'],
    ['no separator', '26 1 254:0 / / rw ext4 /dev/vda rw'],
    ['a bad device', '26 1 254 / / rw - ext4 /dev/vda rw'],
    ['a negative id', '-26 1 254:0 / / rw - ext4 /dev/vda rw'],
    ['a relative mount point', '26 1 254:0 / mnt rw - ext4 /dev/vda rw'],
    ['a stray backslash', '26 1 254:0 / /mnt\\x rw - ext4 /dev/vda rw'],
    ['a short escape', '26 1 254:0 / /mnt\\04 rw - ext4 /dev/vda rw'],
    ['an escape over ASCII', '26 1 254:0 / /mnt\\377 rw - ext4 /dev/vda rw'],
    ['an empty filesystem type', '26 1 254:0 / /mnt rw -  /dev/vda rw'],
    ['a huge line', `26 1 254:0 / /${'a'.repeat(20_000)} rw - ext4 /dev/vda rw`],
  ])('is dropped when it has %s', (_what, text) => {
    expect(parseMountLine(text)).toBeUndefined();
    expect(parseMountinfo(`${text}\n26 1 254:0 / / rw - ext4 /dev/vda rw\n`)).toHaveLength(1);
  });

  it('gives back any mount as the kernel escapes it', () => {
    const text = fc.string({ unit: char, maxLength: 40 });
    const word = (chars: readonly string[], maxLength: number) =>
      fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength });
    const option = word(['a', 'b', 'p', 'r', 'j', 'q', '0', '9', '=', '_', '.'], 12);
    const entry = fc.record({
      id: fc.nat(),
      parentId: fc.nat(),
      major: fc.nat({ max: 4095 }),
      minor: fc.nat({ max: 1 << 20 }),
      root: text.map((s) => `/${s}`),
      mountPoint: text.map((s) => `/${s}`),
      options: fc.array(option, { minLength: 1, maxLength: 4 }),
      fsType: word(['e', 'x', 't', 'f', 's', '4', '.'], 10),
      source: text.filter((s) => s !== ''),
      superOptions: fc.array(option, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(entry, fc.constantFrom('', 'shared:1', 'master:2 propagate_from:3'), (e, optional) => {
        expect(parseMountLine(line(e, optional))).toEqual(e);
      }),
    );
  });

  it('never throws on any text, and returns only sound entries', () => {
    const chars = fc.constantFrom(' ', '-', '\\', '0', '4', '7', '1', ':', '/', 'a', '\n', ',', '\t', 'é');
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: chars, maxLength: 120 }), fc.string({ unit: char, maxLength: 200 })),
        (t) => {
          for (const m of parseMountinfo(t)) {
            expect(m.mountPoint.startsWith('/')).toBe(true);
            expect(Number.isSafeInteger(m.major) && Number.isSafeInteger(m.minor)).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('decodes only well-formed escapes', () => {
    expect(unescapeMountField('a\\134b\\040c')).toBe('a\\b c');
    expect(unescapeMountField('a\\')).toBeUndefined();
    expect(unescapeMountField('\\12')).toBeUndefined();
  });
});

describe('mounts of a path', () => {
  const mounts = parseMountinfo(
    [
      '26 1 254:0 / / rw - ext4 /dev/vda rw',
      '40 26 7:3 / /mnt/disks/ssd0 rw - ext4 /dev/loop3 rw,prjquota',
      '41 26 0:50 / /mnt/disks/ssd0 rw - tmpfs tmpfs rw,size=64m',
      '42 26 7:4 / /mnt/disks/ssd1 rw - xfs /dev/loop4 rw,pqnoenforce',
    ].join('\n'),
  );

  it('the mount at a path is the last one there of its device', () => {
    expect(mountAt(mounts, '/mnt/disks/ssd0', { major: 0, minor: 50 })?.fsType).toBe('tmpfs');
    expect(mountAt(mounts, '/mnt/disks/ssd0', { major: 7, minor: 3 })?.id).toBe(40);
    expect(mountAt(mounts, '/mnt/disks', { major: 254, minor: 0 })).toBeUndefined();
  });

  it('the mount holding a path is the deepest above it on its device', () => {
    expect(mountHolding(mounts, '/mnt/disks/ssd0/a/b', { major: 7, minor: 3 })?.id).toBe(40);
    expect(mountHolding(mounts, '/mnt/disks/other', { major: 254, minor: 0 })?.id).toBe(26);
    expect(mountHolding(mounts, '/mnt/disks/ssd00', { major: 7, minor: 3 })).toBeUndefined();
  });

  it('project quota counts only where enforced on xfs or ext4', () => {
    expect(mounts.map(enforcesProjectQuota)).toEqual([false, true, false, false]);
    const vda = mounts[0] as MountEntry;
    expect(enforcesProjectQuota({ ...vda, fsType: 'xfs', superOptions: ['rw', 'pquota'] })).toBe(true);
    expect(enforcesProjectQuota({ ...vda, fsType: 'btrfs', superOptions: ['prjquota'] })).toBe(false);
  });

  it('device numbers decode as glibc does', () => {
    expect(deviceNumbers(0xfe00n)).toEqual({ major: 254, minor: 0 });
    expect(deviceNumbers(0x703n)).toEqual({ major: 7, minor: 3 });
    // A big minor (dynamic devices): its high bits sit above the major's 12 low bits (bit 20 on).
    expect(deviceNumbers((0x123n << 20n) | (0x8n << 8n) | 0x45n)).toEqual({ major: 8, minor: 0x12345 });
  });
});
