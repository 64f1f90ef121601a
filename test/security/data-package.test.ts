/**
 * Attack: data packages aimed outside the sandbox through links planted in it. The service runs
 * in the sandbox and may leave a symlink where a later data package's `dest` goes (`data -> /etc`);
 * the AppWorker resolves every `dest` on disk with the archive guard's resolver and refuses one
 * that leaves the sandbox, before fetching anything. And a release is installed all or nothing:
 * a refused data package leaves neither the new release nor any other data package changed.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { destinationInside } from '../../core/archive/destination.js';
import { isGalaxyError } from '../../core/errors.js';
import { createPackage, sha256File } from '../../frameworks/appmaster/appworker/package.js';
import { ReleaseManager } from '../../frameworks/appmaster/appworker/release.js';
import { JobSpecSchema } from '../../frameworks/appmaster/spec/schema.js';
import { PullResponse, WorkerAction } from '../../proto/gen/galaxy/v1/appmaster.js';
import { writeArchive } from '../helpers/tarballs.js';

let dir: string;
let sandbox: string;
let outside: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-data-dest-'));
  sandbox = join(dir, 'sandbox');
  outside = join(dir, 'etc');
  await mkdir(sandbox);
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'root:x:0:0\n');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Expects `fn` to throw GALAXY_E_PACKAGE matching `needle`. */
function expectRefused(fn: () => unknown, needle: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isGalaxyError(error, 'GALAXY_E_PACKAGE'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(needle);
}

describe('data package destinations', () => {
  it('refuses a dest that goes through a planted link out of the sandbox', async () => {
    await symlink(outside, join(sandbox, 'abs'));
    await symlink('../etc', join(sandbox, 'rel'));
    await mkdir(join(sandbox, 'a'));
    await symlink('..', join(sandbox, 'a', 'up'));
    expectRefused(() => destinationInside(sandbox, 'abs/x', 'data package "c"'), /dest "abs\/x" leaves the sandbox/);
    expectRefused(() => destinationInside(sandbox, 'rel', 'data package "c"'), /above the root/);
    expectRefused(() => destinationInside(sandbox, 'a/up/a/up/../etc', 'data package "c"'), /above the root/);
    expectRefused(() => destinationInside(sandbox, 'a/up', 'data package "c"'), /is the sandbox itself/);
    expectRefused(() => destinationInside(sandbox, '/etc', 'data package "c"'), /is absolute/);
  });

  it('follows links that stay inside, and names the real place to unpack to', async () => {
    await mkdir(join(sandbox, 'shared', 'data'), { recursive: true });
    await symlink('shared/data', join(sandbox, 'data'));
    expect(destinationInside(sandbox, 'data/content', 'data package "c"')).toBe(
      join(sandbox, 'shared', 'data', 'content'),
    );
    expect(destinationInside(sandbox, 'new/deep/dir', 'data package "c"')).toBe(join(sandbox, 'new', 'deep', 'dir'));
  });
});

describe('a release with a refused data package', () => {
  it('installs nothing: no release directory, the other data package untouched, nothing outside', async () => {
    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'server.mjs'), 'console.log(1)\n');
    const pkg = await createPackage(app, join(dir, 'app.tgz'));
    const good = join(dir, 'good');
    await mkdir(good);
    await writeFile(join(good, 'message.txt'), 'new\n');
    const goodData = await createPackage(good, join(dir, 'good.tgz'));
    const evil = await writeArchive(join(dir, 'evil.tgz'), [
      { path: 'a/', type: 'Directory' },
      { path: 'a/x', type: 'SymbolicLink', linkpath: '..' },
      { path: 'esc', type: 'SymbolicLink', linkpath: 'a/x/a/x/../../etc' },
    ]);
    // The data the running release has.
    await mkdir(join(sandbox, 'data', 'good'), { recursive: true });
    await writeFile(join(sandbox, 'data', 'good', 'message.txt'), 'old\n');

    const template = JobSpecSchema.parse({
      name: 'web',
      replicas: 1,
      resources: { cpu: { millicores: '100m' }, memory: { hard: '16Mi' } },
      package: { source: pkg.url, version: '2', sha256: pkg.sha256 },
      commands: { start: 'sleep 60', reload: 'true' },
      data: [
        { name: 'good', source: goodData.url, version: '2', sha256: goodData.sha256, dest: 'data/good' },
        {
          name: 'evil',
          source: pathToFileURL(evil).href,
          version: '2',
          sha256: await sha256File(evil),
          dest: 'data/evil',
        },
      ],
    });
    const order = PullResponse.fromPartial({
      action: WorkerAction.ACTION_DEPLOY,
      revision: 2,
      templateJson: JSON.stringify(template),
    });
    const releases = new ReleaseManager(sandbox, {}, { job: 'web', podId: 'web-0' });
    const error: unknown = await releases.install(order, new AbortController().signal).catch((e: unknown) => e);
    expect(isGalaxyError(error, 'GALAXY_E_PACKAGE'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/evil\.tgz was refused: symlink "esc" points outside the destination/);
    expect(await readdir(join(sandbox, 'releases')), 'no release 2, not even its staging').toEqual([]);
    expect(await readdir(join(sandbox, 'data'))).toEqual(['good']);
    expect(await readFile(join(sandbox, 'data', 'good', 'message.txt'), 'utf8')).toBe('old\n');
    expect(await readdir(outside)).toEqual(['passwd']);
  });
});
