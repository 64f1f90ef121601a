/**
 * A real root filesystem image for tests, built from the host's own files without any network: a
 * shell and a few programs with the libraries `ldd` names, and an /etc/os-release of a made-up
 * distribution, packed as a `.tar.gz` with its sha256 — what a Debian or Alpine rootfs is, only smaller.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { sha256File } from '../../frameworks/appmaster/appworker/package.js';

/** The distribution the test image says it is. */
export const TEST_OS_ID = 'galaxy-test-os';

/** Programs in the test image (host paths; they land at /bin/<name>). */
const PROGRAMS = ['sh', 'cat', 'ls', 'id', 'touch', 'rm', 'mkdir', 'sleep', 'stat', 'readlink'];

/** A built image: its tarball, URL and sha256. */
export interface TestImage {
  readonly path: string;
  /** Its file:// URL, as `container.rootfs.source` names it. */
  readonly source: string;
  readonly sha256: string;
}

/** The host libraries (absolute paths) `ldd` says `program` loads, its loader included. */
function librariesOf(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  return [...out.matchAll(/(\/[^\s]+) \(0x/g)].map((m) => m[1] ?? '').filter((p) => p !== '');
}

/** Builds the image into `outFile` (`.tar.gz`); `extra` files (path in the image → content) are added. */
export async function buildTestImage(outFile: string, extra: Record<string, string> = {}): Promise<TestImage> {
  const root = await mkdtemp(join(tmpdir(), 'galaxy-test-rootfs-'));
  try {
    const libraries = new Set<string>();
    await mkdir(join(root, 'bin'), { recursive: true });
    for (const name of PROGRAMS) {
      const host = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      const real = execFileSync('readlink', ['-f', host], { encoding: 'utf8' }).trim();
      await copyFile(real, join(root, 'bin', name));
      for (const lib of librariesOf(real)) libraries.add(lib);
    }
    for (const lib of libraries) {
      const real = execFileSync('readlink', ['-f', lib], { encoding: 'utf8' }).trim();
      // At the path programs ask for (the loader's /lib64/… is compiled into them).
      await mkdir(join(root, dirname(lib)), { recursive: true });
      await copyFile(real, join(root, lib));
    }
    const files: Record<string, string> = {
      'etc/os-release': `ID=${TEST_OS_ID}\nNAME="Galaxy Test OS"\nPRETTY_NAME="Galaxy Test OS 1"\n`,
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
      'etc/group': 'root:x:0:\n',
      ...extra,
    };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(root, dirname(path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
    await mkdir(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
    await tar.c({ gzip: true, file: outFile, cwd: root, portable: true }, (await readdir(root)).sort());
    return { path: outFile, source: pathToFileURL(outFile).href, sha256: await sha256File(outFile) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
