/**
 * Attack, at random: sequences of directories, files, symlinks and hard links with paths and
 * targets made of `a`, `b`, `..`, `.` and absolute paths into the jail around the destination.
 * Invariants:
 *
 * - Whatever the guard admits is safe even for a naive extractor that follows every link
 *   (`mkdir -p`, `open` without O_NOFOLLOW, `link` through links): nothing lands outside the
 *   destination, and every symlink left in it points inside it.
 * - `unpackArchive` (guard + node-tar) either unpacks, with the same two guarantees, or refuses
 *   with GALAXY_E_PACKAGE and leaves no destination; nothing outside it changes either way.
 */
import fc from 'fast-check';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveGuard } from '../../core/archive/guard.js';
import { unpackArchive } from '../../core/archive/unpack.js';
import { isGalaxyError } from '../../core/errors.js';
import { writeArchive, type RawEntry } from '../helpers/tarballs.js';

/** Stands for the absolute path of the jail's `etc`, known only once the jail exists. */
const OUT = '@OUT';

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b') },
  { weight: 2, arbitrary: fc.constant('..') },
  { weight: 1, arbitrary: fc.constant('.') },
);
const relative = (max: number) => fc.array(segment, { minLength: 1, maxLength: max }).map((s) => s.join('/'));
const target = fc.oneof(
  { weight: 6, arbitrary: relative(5) },
  { weight: 1, arbitrary: fc.constantFrom(OUT, `${OUT}/passwd`, '/') },
);
const entry: fc.Arbitrary<RawEntry> = fc.oneof(
  fc.record({ path: relative(3), type: fc.constant('Directory' as const) }),
  fc.record({ path: relative(3), type: fc.constant('File' as const), body: fc.constant('owned\n') }),
  {
    weight: 2,
    arbitrary: fc.record({ path: relative(3), type: fc.constant('SymbolicLink' as const), linkpath: target }),
  },
  fc.record({
    path: relative(3),
    type: fc.constant('Link' as const),
    linkpath: fc.oneof(relative(3), fc.constant(`${OUT}/passwd`)),
  }),
);
const archives = fc.array(entry, { minLength: 1, maxLength: 10 });

/** Sequences every run tries first: the classic chain, and a link made to escape by a later one. */
const examples: [RawEntry[]][] = [
  [
    [
      { path: 'a', type: 'Directory' },
      { path: 'a/x', type: 'SymbolicLink', linkpath: '..' },
      { path: 'esc', type: 'SymbolicLink', linkpath: 'a/x/a/x/../../etc' },
      { path: 'esc/passwd', type: 'File', body: 'owned\n' },
    ],
  ],
  [
    [
      { path: 'a', type: 'Directory' },
      { path: 'a/esc', type: 'SymbolicLink', linkpath: 'b/../..' },
      { path: 'a/b', type: 'SymbolicLink', linkpath: '.' },
    ],
  ],
];

/** A jail: `etc/passwd` (the canary) beside `l1/l2/dest`, the destination. */
interface Jail {
  readonly root: string;
  readonly dest: string;
  readonly entries: RawEntry[];
}

/** Jails live in memory when the machine has a tmpfs: hundreds of them are made per run. */
const JAILS = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

async function makeJail(entries: readonly RawEntry[]): Promise<Jail> {
  const root = realpathSync(await mkdtemp(join(JAILS, 'galaxy-archive-fuzz-')));
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0\n');
  await mkdir(join(root, 'l1', 'l2'), { recursive: true });
  const out = join(root, 'etc');
  const real = entries.map((e) =>
    e.linkpath?.startsWith(OUT) ? { ...e, linkpath: out + e.linkpath.slice(OUT.length) } : e,
  );
  return { root, dest: join(root, 'l1', 'l2', 'dest'), entries: real };
}

/** Every path under `root` but `skip`, with its content, link target or `dir`. */
async function snapshot(root: string, skip: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if (path === skip) continue;
      const stat = await lstat(path);
      if (stat.isSymbolicLink()) seen.set(path, `-> ${await readlink(path)}`);
      else if (stat.isDirectory()) {
        seen.set(path, 'dir');
        await walk(path);
      } else seen.set(path, await readFile(path, 'utf8'));
    }
  };
  await walk(root);
  return seen;
}

const inside = (path: string, dir: string): boolean => path === dir || path.startsWith(dir + sep);

/** Where a path would be written, following the links on disk (the rest lexically). */
function landing(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return normalize(join(realpathSync(existing), ...rest));
    } catch {
      if (existing === dirname(existing)) return normalize(path);
      rest.unshift(existing.slice(dirname(existing).length + 1));
      existing = dirname(existing);
    }
  }
}

/**
 * The naive extractor: follows every link. It never writes outside the jail (that would touch the
 * machine): where it would have, it records the escape instead.
 */
function naiveExtract(jail: Jail, escapes: string[]): void {
  mkdirSync(jail.dest);
  for (const e of jail.entries) {
    const path = join(jail.dest, e.path);
    const where = landing(path);
    if (!inside(where, jail.root)) {
      escapes.push(`${e.path} -> ${where}`);
      continue;
    }
    try {
      if (e.type === 'Directory') mkdirSync(path, { recursive: true });
      else {
        mkdirSync(dirname(path), { recursive: true });
        if (e.type === 'File') writeFileSync(path, e.body ?? '');
        else if (e.type === 'SymbolicLink') {
          rmSync(path, { force: true });
          symlinkSync(e.linkpath ?? '', path);
        } else {
          const from = landing(join(jail.dest, e.linkpath ?? ''));
          if (!inside(from, jail.root)) escapes.push(`hard link ${e.path} -> ${from}`);
          else {
            rmSync(path, { force: true });
            linkSync(from, path);
          }
        }
      }
    } catch {
      // a naive extractor shrugs and goes on (EEXIST, ENOTDIR, ELOOP …)
    }
  }
}

/**
 * Symlinks under `dest` whose target, followed as the kernel would (missing components read
 * lexically, so a later mkdir cannot change the answer), leaves `dest`.
 */
function linksOut(dest: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) {
        const end = follow(dirname(path), readlinkSync(path));
        if (end !== undefined && !inside(end, dest)) out.push(`${path} -> ${end}`);
      } else if (stat.isDirectory()) visit(path);
    }
  };
  visit(dest);
  return out;
}

/** Where `target`, read from `from`, leads; undefined for a loop. */
function follow(from: string, target: string): string | undefined {
  let at = target.startsWith('/') ? '/' : from;
  let pending = target.split('/').filter((c) => c !== '' && c !== '.');
  let missing = false;
  for (let hops = 0; pending.length > 0;) {
    const [c, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (c === '..') {
      at = dirname(at);
      continue;
    }
    const next = join(at, c);
    if (!missing) {
      try {
        const stat = lstatSync(next);
        if (stat.isSymbolicLink()) {
          if (++hops > 40) return undefined;
          const t = readlinkSync(next);
          if (t.startsWith('/')) at = '/';
          pending = [...t.split('/').filter((x) => x !== '' && x !== '.'), ...pending];
          continue;
        }
      } catch {
        missing = true;
      }
    }
    at = next;
  }
  return at;
}

describe('random archives', () => {
  it('whatever the guard admits, even a naive extractor keeps inside the destination', async () => {
    await fc.assert(
      fc.asyncProperty(archives, async (entries) => {
        // Any absolute path is refused alike, so the guard can be asked before the jail exists.
        const guard = new ArchiveGuard();
        const seen = (e: RawEntry) => ({ ...e, type: e.type ?? 'File', linkpath: e.linkpath?.replace(OUT, '/out') });
        fc.pre(entries.every((e) => guard.admit({ ...seen(e), size: 6 }) === undefined));
        const jail = await makeJail(entries);
        try {
          const before = await snapshot(jail.root, jail.dest);
          const escapes: string[] = [];
          naiveExtract(jail, escapes);
          expect(escapes).toEqual([]);
          expect(await snapshot(jail.root, jail.dest)).toEqual(before);
          expect(linksOut(jail.dest)).toEqual([]);
        } finally {
          await rm(jail.root, { recursive: true, force: true });
        }
      }),
      { numRuns: 200, examples },
    );
  }, 60_000);

  it('unpackArchive unpacks inside the destination or refuses, changing nothing outside', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(archives, async (entries) => {
        const jail = await makeJail(entries);
        try {
          const archive = await writeArchive(join(jail.root, 'l1', 'evil.tgz'), jail.entries);
          const before = await snapshot(jail.root, jail.dest);
          const error: unknown = await unpackArchive(archive, jail.dest, 'evil.tgz').catch((e: unknown) => e);
          if (error !== undefined) {
            refused++;
            expect(isGalaxyError(error, 'GALAXY_E_PACKAGE'), (error as Error).message).toBe(true);
            await expect(lstat(jail.dest)).rejects.toThrow(/ENOENT/);
          } else {
            expect(linksOut(jail.dest)).toEqual([]);
          }
          expect(await snapshot(jail.root, jail.dest)).toEqual(before);
        } finally {
          await rm(jail.root, { recursive: true, force: true });
        }
      }),
      { numRuns: 150, examples },
    );
    // The generator is not so tame that everything passes, nor so wild that nothing does.
    expect(refused).toBeGreaterThan(10);
    expect(refused).toBeLessThan(150);
  }, 60_000);
});
