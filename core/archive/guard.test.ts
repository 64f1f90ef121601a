/**
 * The archive guard's decisions, entry by entry, without I/O: what it admits and why it refuses.
 * (Crafted archives unpacked for real: test/security/archive-escape.test.ts; random sequences:
 * guard.properties.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ArchiveGuard, type ArchiveEntry, type GuardOptions } from './guard.js';

/** The first refusal of `entries` in order, or undefined when all are admitted. */
function refusalOf(entries: ArchiveEntry[], options?: GuardOptions): string | undefined {
  const guard = new ArchiveGuard(options);
  for (const entry of entries) {
    const refusal = guard.admit(entry);
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}

const dir = (path: string): ArchiveEntry => ({ path, type: 'Directory' });
const file = (path: string, size = 1): ArchiveEntry => ({ path, type: 'File', size });
const link = (path: string, linkpath: string): ArchiveEntry => ({ path, type: 'SymbolicLink', linkpath });
const hard = (path: string, linkpath: string): ArchiveEntry => ({ path, type: 'Link', linkpath });

describe('ArchiveGuard', () => {
  it('admits an ordinary package: dirs, files, links inside, hard links to its files', () => {
    expect(
      refusalOf([
        dir('./'),
        dir('bin/'),
        file('bin/run'),
        file('./lib/deep/x.js'),
        link('run', 'bin/run'),
        link('bin/up', '../lib/deep'),
        link('lib/deep/self', '.'),
        link('dangling', 'not/there/yet'),
        hard('bin/run2', 'bin/run'),
        file('bin/run'), // a later copy of a file replaces it (tar -r)
        dir('bin'),
      ]),
    ).toBeUndefined();
  });

  it('refuses the link chain a/x -> .. then esc -> a/x/a/x/../../etc', () => {
    const guard = new ArchiveGuard();
    expect(guard.admit(dir('a'))).toBeUndefined();
    expect(guard.admit(link('a/x', '..'))).toBeUndefined();
    // Lexically a/x/a/x/../../etc is a/x/etc; through the links it is ../etc.
    expect(guard.admit(link('esc', 'a/x/a/x/../../etc'))).toMatch(
      /symlink "esc" points outside the destination: .*above the root/,
    );
    expect(guard.admit(file('ok')), 'the first refusal is final').toMatch(/symlink "esc"/);
  });

  it('refuses absolute paths, .., and absolute or climbing link targets', () => {
    expect(refusalOf([file('/etc/passwd')])).toBe('entry "/etc/passwd" is absolute');
    expect(refusalOf([file('C:/x')])).toBe('entry "C:/x" is absolute');
    expect(refusalOf([file('a/../../x')])).toBe('entry "a/../../x" climbs with ".."');
    expect(refusalOf([file('a/..\\..\\x')])).toMatch(/climbs/);
    expect(refusalOf([link('l', '/etc')])).toMatch(/symlink "l" points outside the destination: "\/etc" is absolute/);
    expect(refusalOf([dir('a'), link('a/l', '../..')])).toMatch(/above the root/);
  });

  it('refuses writing through a symlink, even one that points inside', () => {
    expect(refusalOf([dir('inner'), link('l', 'inner'), file('l/x')])).toBe('entry "l/x" goes through the symlink "l"');
    expect(refusalOf([file('f'), file('f/x')])).toBe('entry "f/x" goes through "f", which is not a directory');
  });

  it('refuses replacing a symlink or a directory, and a file by a symlink', () => {
    expect(refusalOf([link('l', 'x'), file('l')])).toMatch(/replaces a symlink/);
    expect(refusalOf([link('l', 'x'), link('l', 'y')])).toMatch(/replaces a symlink/);
    expect(refusalOf([dir('d'), file('d')])).toMatch(/replaces a dir/);
    expect(refusalOf([file('f'), link('f', '.')])).toMatch(/replaces a file/);
    expect(refusalOf([file('f'), dir('f')])).toMatch(/replaces a file/);
  });

  it('refuses a link that climbs after a component not made yet (a later link could move it)', () => {
    // Lexically `d/..` is the root; were `d -> a/b` made later, it would still be inside, but
    // `p/q/c/../../..` with `p/q/c -> .` made later would escape: so any climb after the unknown is refused.
    expect(refusalOf([dir('p/q'), link('p/q/esc', 'c/../../..')])).toMatch(/not there yet/);
    expect(refusalOf([link('s', 'x/y'), link('l', 's/..')])).toMatch(/not there yet/);
    expect(refusalOf([dir('d'), link('l', 'd/..')])).toBeUndefined();
  });

  it('follows links of links and refuses loops and files used as directories', () => {
    expect(refusalOf([dir('a/b'), link('a/b/up', '../..'), link('top', 'a/b/up'), link('esc', 'top/..')])).toMatch(
      /above the root/,
    );
    expect(refusalOf([link('x', 'y'), link('y', 'x'), link('z', 'x/..')])).toMatch(/more than 40 symlinks/);
    expect(refusalOf([file('f'), link('l', 'f/..')])).toMatch(/"f", which is not a directory/);
  });

  it('refuses hard links to anything but a regular file this archive made', () => {
    expect(refusalOf([hard('h', '/etc/shadow')])).toMatch(/hard link "h" points at "\/etc\/shadow"/);
    expect(refusalOf([hard('h', '../x')])).toMatch(/hard link "h"/);
    expect(refusalOf([hard('h', 'missing')])).toMatch(/not a regular file of this archive/);
    expect(refusalOf([dir('d'), hard('h', 'd')])).toMatch(/not a regular file/);
    expect(refusalOf([file('f'), link('l', 'f'), hard('h', 'l')])).toMatch(/not a regular file/);
    expect(refusalOf([dir('in'), link('l', 'in'), file('in/f'), hard('h', 'l/f')])).toMatch(/not a regular file/);
  });

  it('refuses devices, FIFOs and other special types', () => {
    for (const type of ['CharacterDevice', 'BlockDevice', 'FIFO'])
      expect(refusalOf([{ path: 'dev/x', type }])).toBe(`entry "dev/x" is a ${type}, which an archive may not hold`);
    expect(refusalOf([{ path: 'x', type: 'GNUDumpDir' }])).toMatch(/of type GNUDumpDir/);
  });

  it('bounds entries, bytes and path lengths (a tar bomb)', () => {
    const limits = { maxEntries: 3, maxBytes: 100, maxPathBytes: 20 };
    expect(refusalOf([file('a'), file('b'), file('c')], { limits })).toBeUndefined();
    expect(refusalOf([file('a'), file('b'), file('c'), file('d')], { limits })).toBe('it holds more than 3 entries');
    expect(refusalOf([file('a', 60), file('b', 41)], { limits })).toBe('it unpacks to more than 100 bytes');
    expect(refusalOf([file('a'.repeat(21))], { limits })).toMatch(/longer than 20 bytes/);
    expect(refusalOf([link('l', 'b'.repeat(21))], { limits })).toMatch(/target longer than 20 bytes/);
    expect(refusalOf([file('a', 5 * 1024 ** 3)])).toMatch(/more than 4294967296 bytes/);
  });

  it('reads absolute link targets from the destination root when asked (root filesystem images)', () => {
    const rooted: GuardOptions = { absoluteLinks: 'rooted' };
    expect(refusalOf([dir('usr/lib'), link('lib', '/usr/lib'), link('etc/localtime', '/usr/share/x')], rooted)).toBe(
      undefined,
    );
    expect(refusalOf([link('up', '/../..')], rooted)).toMatch(/above the root/);
    expect(refusalOf([dir('usr'), link('root', '/'), link('esc', 'root/..')], rooted)).toMatch(/above the root/);
  });
});
