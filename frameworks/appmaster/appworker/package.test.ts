import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPackage, fetchPackage, sha256File } from './package.js';
import { isGalaxyError } from '../../../core/errors.js';
import { rawArchive, type RawEntry } from '../../../test/helpers/tarballs.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-package-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a raw archive and returns its file URL and checksum. */
async function archiveOf(entries: RawEntry[]): Promise<{ url: string; sha256: string }> {
  const file = join(dir, `raw-${String(Math.random()).slice(2)}.tgz`);
  await writeFile(file, rawArchive(entries));
  return { url: pathToFileURL(file).href, sha256: await sha256File(file) };
}

/** Expects `fetchPackage` to fail with GALAXY_E_PACKAGE naming `needle`, leaving `into`'s parent empty. */
async function expectRefused(url: string, sha256: string, needle: string): Promise<void> {
  const parent = join(dir, 'sandbox');
  const error: unknown = await fetchPackage(url, sha256, join(parent, 'release')).catch((e: unknown) => e);
  expect(isGalaxyError(error, 'GALAXY_E_PACKAGE')).toBe(true);
  expect((error as Error).message).toContain(needle);
  expect(await readdir(parent)).toEqual([]);
  expect(await readdir(dir)).not.toContain('evil.txt');
}

describe('fetchPackage', () => {
  it('unpacks a good archive built by createPackage, links and all', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'server.mjs'), 'console.log(1)\n');
    await writeFile(join(src, 'bin', 'run'), '#!/bin/sh\n');
    await symlink('bin/run', join(src, 'run-link'));
    const built = await createPackage(src, join(dir, 'app.tar.gz'));
    expect(built.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(built.url).toBe(pathToFileURL(join(dir, 'app.tar.gz')).href);

    const into = join(dir, 'sandbox', 'releases', '1');
    await fetchPackage(built.url, built.sha256, into);
    expect(await readFile(join(into, 'server.mjs'), 'utf8')).toBe('console.log(1)\n');
    expect(await readlink(join(into, 'run-link'))).toBe('bin/run');
    expect(await readdir(join(dir, 'sandbox', 'releases'))).toEqual(['1']);
  });

  it('replaces what was at the destination, in one swap', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'message.txt'), 'v2');
    const built = await createPackage(src, join(dir, 'data.tgz'));
    const into = join(dir, 'sandbox', 'data');
    await mkdir(into, { recursive: true });
    await writeFile(join(into, 'stale.txt'), 'v1');
    await fetchPackage(built.url, built.sha256, into);
    expect(await readdir(into)).toEqual(['message.txt']);
    expect(await readdir(join(dir, 'sandbox'))).toEqual(['data']);
  });

  it('refuses a checksum mismatch, naming the expected and the actual sum', async () => {
    const { url, sha256 } = await archiveOf([{ path: 'a.txt', body: 'a' }]);
    const wrong = '0'.repeat(64);
    await expectRefused(url, wrong, `expected sha256 ${wrong}, got ${sha256}`);
  });

  it('refuses an entry that climbs out with ../', async () => {
    const { url, sha256 } = await archiveOf([
      { path: 'ok.txt', body: 'fine' },
      { path: '../evil.txt', body: 'x' },
    ]);
    await expectRefused(url, sha256, 'entry "../evil.txt" climbs with ".."');
  });

  it('refuses an absolute entry', async () => {
    const { url, sha256 } = await archiveOf([{ path: `${dir}/evil.txt`, body: 'x' }]);
    await expectRefused(url, sha256, `entry "${dir}/evil.txt" is absolute`);
  });

  it('refuses a symlink whose target escapes, relative or absolute', async () => {
    const relative = await archiveOf([
      { path: 'sub', type: 'Directory' },
      { path: 'sub/link', type: 'SymbolicLink', linkpath: '../../etc' },
    ]);
    await expectRefused(relative.url, relative.sha256, 'symlink "sub/link" points outside the destination');
    const absolute = await archiveOf([{ path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }]);
    await expectRefused(absolute.url, absolute.sha256, 'symlink "link"');
  });

  it('refuses a hardlink whose target escapes', async () => {
    const { url, sha256 } = await archiveOf([{ path: 'hard', type: 'Link', linkpath: '../evil.txt' }]);
    await expectRefused(url, sha256, 'hard link "hard"');
  });

  it('refuses a source that is not an archive', async () => {
    const file = join(dir, 'not.tgz');
    await writeFile(file, 'this is not gzip');
    await expectRefused(pathToFileURL(file).href, await sha256File(file), 'not.tgz');
  });

  describe('over http', () => {
    let server: Server;
    let base: string;
    let body: Buffer;

    beforeEach(async () => {
      body = rawArchive([{ path: 'hello.txt', body: 'over the wire' }]);
      server = createServer((req, res) => {
        if (req.url === '/moved') res.writeHead(302, { location: '/app.tgz' }).end();
        else if (req.url === '/app.tgz') res.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
        else res.writeHead(404).end();
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no address');
      base = `http://127.0.0.1:${address.port}`;
    });

    afterEach(async () => {
      await new Promise((ok) => server.close(ok));
    });

    it('downloads through a redirect and unpacks', async () => {
      const file = join(dir, 'copy.tgz');
      await writeFile(file, body);
      const into = join(dir, 'sandbox', 'rel');
      await fetchPackage(`${base}/moved`, await sha256File(file), into);
      expect(await readFile(join(into, 'hello.txt'), 'utf8')).toBe('over the wire');
    });

    it('reports an HTTP error status', async () => {
      await expectRefused(`${base}/missing.tgz`, '0'.repeat(64), 'HTTP 404');
    });

    it('refuses an archive larger than the cap', async () => {
      const error: unknown = await fetchPackage(`${base}/app.tgz`, '0'.repeat(64), join(dir, 'sandbox', 'r'), {
        maxBytes: 10,
      }).catch((e: unknown) => e);
      expect(isGalaxyError(error, 'GALAXY_E_PACKAGE')).toBe(true);
      expect((error as Error).message).toContain('limit of 10');
      expect(await readdir(join(dir, 'sandbox'))).toEqual([]);
    });
  });
});
