/**
 * The image cache on real files and a real HTTP server: concurrent launches fetch once, a bad
 * sha256 or an escaping entry leaves nothing cached, the size bound evicts unused images and
 * refuses what cannot fit, and file:// images come only from the allowed host paths.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../frameworks/appmaster/appworker/package.js';
import { ImageStore } from './image-store.js';

let dir: string;
let server: Server;
let base: string;
const requests = new Map<string, number>();

/** A small rootfs tarball named `name` in `dir`, with `content` at etc/os-release. */
async function image(name: string, content: string, extra?: (root: string) => Promise<void>) {
  const root = await mkdtemp(join(dir, 'tree-'));
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc', 'os-release'), content);
  await extra?.(root);
  const file = join(dir, 'served', name);
  await tar.c({ gzip: true, file, cwd: root, portable: true }, await readdir(root));
  await rm(root, { recursive: true });
  return { file, source: `${base}/${name}`, sha256: await sha256File(file) };
}

function store(capacityBytes = 1024 ** 2, sub = 'cache', usedOnDisk = new Set<string>()) {
  return new ImageStore({
    dir: join(dir, sub),
    capacityBytes,
    allowedHostPaths: [{ path: join(dir, 'served'), writable: false }],
    workDir: join(dir, 'work'),
    usedOnDisk: () => Promise.resolve(usedOnDisk),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-image-store-'));
  await mkdir(join(dir, 'served'));
  server = createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    requests.set(name, (requests.get(name) ?? 0) + 1);
    // Slow enough that concurrent acquires overlap with the download.
    setTimeout(() => {
      createReadStream(join(dir, 'served', name))
        .on('error', () => res.writeHead(404).end())
        .pipe(res);
    }, 100);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('ImageStore', () => {
  it('fetches an image once for concurrent launches and serves it from the cache after', async () => {
    const img = await image('one.tar.gz', 'ID=one\n');
    const images = store();
    const got = await Promise.all([images.acquire(img), images.acquire(img), images.acquire(img)]);
    expect(new Set(got.map((g) => g.rootfs)).size).toBe(1);
    expect(requests.get('one.tar.gz')).toBe(1);
    await images.acquire(img);
    expect(requests.get('one.tar.gz')).toBe(1);
    expect(await images.cached()).toEqual([img.sha256]);
  });

  it('refuses a bad sha256 with a coded error and caches nothing', async () => {
    const img = await image('bad.tar.gz', 'ID=bad\n');
    const images = store(1024 ** 2, 'cache-bad');
    await expect(images.acquire({ source: img.source, sha256: '0'.repeat(64) })).rejects.toThrow(
      /GALAXY_E_IMAGE: .*failed its checksum/,
    );
    expect(await readdir(join(dir, 'cache-bad'))).toEqual([]);
  });

  it('refuses an image with an entry that escapes, leaving nothing behind', async () => {
    const img = await image('escape.tar.gz', 'ID=escape\n', async (root) => {
      await symlink('../../../..', join(root, 'up'));
    });
    const images = store(1024 ** 2, 'cache-escape');
    await expect(images.acquire(img)).rejects.toThrow(/GALAXY_E_IMAGE: .*refused/);
    expect(await readdir(join(dir, 'cache-escape'))).toEqual([]);
  });

  it('evicts the least recently used unused image to fit a new one, and never one in use', async () => {
    const big = 'x'.repeat(300 * 1024);
    const [a, b, c] = [
      await image('a.tar.gz', `ID=a\n${big}`),
      await image('b.tar.gz', `ID=b\n${big}`),
      await image('c.tar.gz', `ID=c\n${big}`),
    ];
    const images = store(700 * 1024, 'cache-lru');
    await images.acquire(a);
    await images.acquire(b);
    images.release(a.sha256); // a is unused now; b is still in use
    await images.acquire(c);
    expect((await images.cached()).sort()).toEqual([b.sha256, c.sha256].sort());
    // Nothing unused is left to evict: a fourth image is refused, and nothing is cached for it.
    await expect(images.acquire(a)).rejects.toThrow(/GALAXY_E_IMAGE: .*full of images running containers use/);
    expect((await images.cached()).sort()).toEqual([b.sha256, c.sha256].sort());
  });

  it('refuses an image larger than the whole cache', async () => {
    const img = await image('huge.tar.gz', 'y'.repeat(200 * 1024));
    await expect(store(100 * 1024, 'cache-small').acquire(img)).rejects.toThrow(/GALAXY_E_IMAGE/);
    expect(await readdir(join(dir, 'cache-small'))).toEqual([]);
  });

  it('reads file:// images only under the allowed host paths', async () => {
    const img = await image('local.tar.gz', 'ID=local\n');
    const images = store(1024 ** 2, 'cache-file');
    const ok = await images.acquire({ source: pathToFileURL(img.file).href, sha256: img.sha256 });
    expect(ok.sha256).toBe(img.sha256);
    await expect(images.acquire({ source: 'file:///etc/os-release', sha256: img.sha256 })).rejects.toThrow(
      /GALAXY_E_HOST_PATH_DENIED/,
    );
    await expect(images.acquire({ source: 'ftp://example.com/x.tar', sha256: img.sha256 })).rejects.toThrow(
      /GALAXY_E_IMAGE: .*file:\/\/\/.*http/,
    );
  });
});
