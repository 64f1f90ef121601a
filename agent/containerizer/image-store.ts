/**
 * The agent's cache of root filesystem images (`container.rootfs`): each image is fetched once,
 * checked against its sha256 and unpacked through the archive guard (`core/archive`, absolute
 * links read from the image's own root) into `<dir>/<sha256>/rootfs`, which every container of
 * that image shares as the read-only lower layer of its overlay. Content-addressed: a directory
 * named by a hash is only ever made by renaming a verified, fully unpacked staging directory into
 * place, so what is there is what the hash says. Concurrent launches of one image share one
 * fetch; a refused image leaves nothing behind. The cache is bounded: an image that would take it
 * past its size evicts the least recently used images no container uses, or is refused.
 */
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { downloadArchive } from '../../core/archive/fetch.js';
import { unpackArchive } from '../../core/archive/unpack.js';
import { GalaxyError } from '../../core/errors.js';
import { checkBind } from '../../core/host-paths.js';
import { imageDenial } from '../../core/rootfs-image.js';
import type { HostPath, RootfsImage } from '../../proto/gen/galaxy/v1/common.js';

/** Default bound of an agent's image cache (`--image-cache`). */
export const DEFAULT_IMAGE_CACHE_BYTES = 8 * 1024 ** 3;

const SHA256 = /^[0-9a-f]{64}$/;
const STAGING = '.staging-';
/** Characters overlayfs' mount options cannot carry in a layer's path. */
const OVERLAY_UNSAFE = /[,:\\\n]/;

/** Options of the store. */
export interface ImageStoreOptions {
  /** The cache directory (in the agent's work dir). */
  readonly dir: string;
  /** Bytes the unpacked images may take together; also the largest download. */
  readonly capacityBytes: number;
  /** `file://` images must lie under these host paths (`--allowed-host-paths`), as bind volumes do. */
  readonly allowedHostPaths: readonly HostPath[];
  /** The agent's work dir: never a source of images. */
  readonly workDir: string;
  /** Images that containers from before a restart still use (their overlays name them). */
  readonly usedOnDisk: () => Promise<Set<string>>;
}

/** Why an image is refused: a coded error naming the image. */
function refused(image: RootfsImage, why: string): GalaxyError {
  return new GalaxyError('GALAXY_E_IMAGE', `container.rootfs ${image.source.slice(0, 200)}: ${why}`);
}

/** The image's checks that need no I/O (core/rootfs-image.ts); returns its normalised sha256. */
function checkImage(image: RootfsImage): string {
  const denial = imageDenial(image);
  if (denial !== undefined) throw refused(image, denial);
  return image.sha256.toLowerCase();
}

/** Bytes the files under `dir` take (apparent sizes; directories and links count nothing). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}

/** The cache; see the module comment. */
export class ImageStore {
  /** Fetches under way, by sha256: concurrent launches of one image wait for the same one. */
  private readonly pending = new Map<string, Promise<string>>();
  /** Containers of this agent run using each image (by sha256). */
  private readonly refs = new Map<string, number>();
  private ready: Promise<void> | undefined;

  constructor(private readonly options: ImageStoreOptions) {
    if (OVERLAY_UNSAFE.test(options.dir))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `the image cache ${options.dir} has a character overlayfs cannot take (, : \\); choose another --work-dir`,
      );
  }

  /**
   * The unpacked root of `image`, fetched and verified if it is not cached yet; the caller holds
   * it until {@link ImageStore.release}. Validates the image (url, sha256, file paths) first.
   * @throws GalaxyError GALAXY_E_IMAGE (bad url, sha256 mismatch, too large, a refused entry) or
   *   GALAXY_E_HOST_PATH_DENIED (a file:// url outside the allowed host paths)
   */
  async acquire(image: RootfsImage): Promise<{ sha256: string; rootfs: string }> {
    const sha = checkImage(image);
    // Checked even when the hash is cached: a URL the agent may not read is refused, always.
    const source = await this.source(image);
    this.refs.set(sha, (this.refs.get(sha) ?? 0) + 1);
    try {
      let fetch = this.pending.get(sha);
      if (!fetch) {
        fetch = this.fetchOnce(image, source, sha).finally(() => this.pending.delete(sha));
        this.pending.set(sha, fetch);
      }
      return { sha256: sha, rootfs: await fetch };
    } catch (error) {
      this.release(sha);
      throw error;
    }
  }

  /** One container no longer uses image `sha256`. */
  release(sha256: string): void {
    const left = (this.refs.get(sha256) ?? 0) - 1;
    if (left > 0) this.refs.set(sha256, left);
    else this.refs.delete(sha256);
  }

  /** The images in the cache, by sha256. */
  async cached(): Promise<string[]> {
    await this.prepare();
    return (await readdir(this.options.dir)).filter((name) => SHA256.test(name));
  }

  /** Makes the cache directory and removes staging left by an agent that died mid-fetch. */
  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      for (const name of await readdir(this.options.dir))
        if (name.startsWith(STAGING)) await rm(join(this.options.dir, name), { recursive: true, force: true });
    })();
    return this.ready;
  }

  private async fetchOnce(image: RootfsImage, source: string, sha: string): Promise<string> {
    await this.prepare();
    const dir = join(this.options.dir, sha);
    const rootfs = join(dir, 'rootfs');
    if (
      await stat(rootfs).then(
        () => true,
        () => false,
      )
    ) {
      const now = new Date();
      await utimes(dir, now, now); // recently used: the last to be evicted
      return rootfs;
    }
    const staging = await mkdtemp(join(this.options.dir, STAGING));
    try {
      const archive = join(staging, 'archive');
      const limits = { code: 'GALAXY_E_IMAGE', maxBytes: this.options.capacityBytes } as const;
      const actual = await downloadArchive(source, archive, limits);
      if (actual !== sha)
        throw refused(image, `failed its checksum: expected sha256 ${sha}, got ${actual}; nothing was cached`);
      await unpackArchive(archive, join(staging, 'rootfs'), image.source, {
        keepSpecialBits: true,
        absoluteLinks: 'rooted',
        limits: { maxBytes: this.options.capacityBytes },
      }).catch((error: unknown) => {
        throw error instanceof GalaxyError ? refused(image, error.detail) : error;
      });
      await rm(archive);
      const bytes = await treeBytes(join(staging, 'rootfs'));
      await writeFile(join(staging, 'bytes'), String(bytes));
      await this.makeRoom(image, sha, bytes);
      await rename(staging, dir);
      return rootfs;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * The URL to download: a file:// image must be a real path under the allowed host paths. One
   * that is gone is checked as written (nothing is read from it; only a cached copy can serve it).
   */
  private async source(image: RootfsImage): Promise<string> {
    if (!image.source.startsWith('file:')) return image.source;
    let path: string;
    try {
      path = fileURLToPath(image.source);
    } catch {
      throw refused(image, 'is not a valid file:/// URL');
    }
    const real = await realpath(path).catch(() => resolve(path));
    checkBind('container.rootfs', real, true, this.options.allowedHostPaths, this.options.workDir);
    return pathToFileURL(real).href;
  }

  /** Evicts unused images, least recently used first, until `bytes` more fit; refuses otherwise. */
  private async makeRoom(image: RootfsImage, sha: string, bytes: number): Promise<void> {
    const { capacityBytes } = this.options;
    if (bytes > capacityBytes)
      throw refused(image, `unpacks to ${bytes} bytes, more than the agent's image cache of ${capacityBytes} bytes`);
    const onDisk = await this.options.usedOnDisk();
    const entries = await Promise.all(
      (await this.cached())
        .filter((name) => name !== sha)
        .map(async (name) => {
          const dir = join(this.options.dir, name);
          const size = Number(await readFile(join(dir, 'bytes'), 'utf8').catch(() => '0')) || 0;
          const used = (await stat(dir)).mtimeMs;
          return { name, dir, size, used, busy: this.refs.has(name) || onDisk.has(name) };
        }),
    );
    let total = entries.reduce((sum, e) => sum + e.size, 0) + bytes;
    for (const entry of entries.filter((e) => !e.busy).sort((a, b) => a.used - b.used)) {
      if (total <= capacityBytes) break;
      await rm(entry.dir, { recursive: true, force: true });
      total -= entry.size;
    }
    if (total > capacityBytes)
      throw refused(
        image,
        `the agent's image cache (${capacityBytes} bytes) is full of images running containers use; try again later or raise --image-cache`,
      );
  }
}
