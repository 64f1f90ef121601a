/**
 * Packages: a service's release or a data package is a `.tar.gz`/`.tgz`/`.tar` fetched by URL,
 * verified against its SHA-256 and unpacked into the sandbox. Every entry goes through the archive
 * guard (`core/archive/guard.ts`): an archive that would write outside its directory — an absolute
 * path, a `..`, a link chain pointing out, a hard link out of the tree, a device, a tar bomb — is
 * refused as a whole, before anything is written.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { downloadArchive, type FetchLimits } from '../../../core/archive/fetch.js';
import { unpackArchive } from '../../../core/archive/unpack.js';
import { GalaxyError } from '../../../core/errors.js';

export type { FetchLimits } from '../../../core/archive/fetch.js';

/** An archive built by {@link createPackage}. */
export interface BuiltPackage {
  /** Absolute path of the archive. */
  path: string;
  /** Hex SHA-256 of the archive. */
  sha256: string;
  /** `file://` URL of the archive, usable as a package `source`. */
  url: string;
}

/** Hex SHA-256 of a file. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * A package fetched, verified and unpacked beside its destination, not yet in place: {@link
 * StagedPackage.commit} swaps it in, {@link StagedPackage.discard} removes what is left of it.
 */
export interface StagedPackage {
  /** Where the package goes. */
  readonly target: string;
  /** Puts the package at its target in one rename (the previous content is removed). */
  commit(): Promise<void>;
  /** Removes the staging directory (after a commit: the previous content). Idempotent. */
  discard(): Promise<void>;
}

/**
 * Fetches `source` (`file:///…` or `http(s)://…`), checks its SHA-256 and unpacks it beside `into`
 * through the archive guard (`core/archive`), without touching `into`: a refused or failed
 * package leaves nothing behind.
 * @throws GalaxyError GALAXY_E_PACKAGE when the download, the checksum or an entry is bad
 */
export async function stagePackage(
  source: string,
  sha256: string,
  into: string,
  limits: FetchLimits = {},
): Promise<StagedPackage> {
  const target = resolve(into);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.staging-`));
  const discard = () => rm(staging, { recursive: true, force: true });
  try {
    const archive = join(staging, 'archive');
    const actual = await downloadArchive(source, archive, limits);
    if (actual !== sha256.toLowerCase()) {
      throw new GalaxyError(
        'GALAXY_E_PACKAGE',
        `${source} failed its checksum: expected sha256 ${sha256}, got ${actual}; fix the sha256 in the job spec or the archive`,
      );
    }
    const root = join(staging, 'root');
    await unpackArchive(archive, root, source, { limits: limits.archive });
    await rm(archive);
    return { target, commit: () => swapInto(root, target, join(staging, 'old')), discard };
  } catch (error) {
    await discard();
    throw error;
  }
}

/**
 * Fetches, checks and unpacks `source` into `into`, replacing what was there: `into` is either the
 * old content or the complete new one, and a failure leaves nothing behind.
 * @throws GalaxyError GALAXY_E_PACKAGE when the download, the checksum or an entry is bad
 */
export async function fetchPackage(
  source: string,
  sha256: string,
  into: string,
  limits: FetchLimits = {},
): Promise<void> {
  const staged = await stagePackage(source, sha256, into, limits);
  try {
    await staged.commit();
  } finally {
    await staged.discard();
  }
}

/** Puts `fresh` at `target`, moving any previous `target` to `aside` (restored if the swap fails). */
async function swapInto(fresh: string, target: string, aside: string): Promise<void> {
  const existed = await lstat(target).then(
    () => true,
    () => false,
  );
  if (existed) await rename(target, aside);
  try {
    await rename(fresh, target);
  } catch (error) {
    if (existed) await rename(aside, target);
    throw packageError(target, 'could not be put in place', error);
  }
}

function packageError(what: string, failure: string, error: unknown): GalaxyError {
  if (error instanceof GalaxyError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new GalaxyError('GALAXY_E_PACKAGE', `${what} ${failure}: ${reason}`, { cause: error });
}

/**
 * Packs the contents of `dir` (not `dir` itself) into the `.tar.gz` `outFile`, for tests,
 * examples and `galaxy up`.
 */
export async function createPackage(dir: string, outFile: string): Promise<BuiltPackage> {
  const path = resolve(outFile);
  const entries = (await readdir(dir)).sort();
  await tar.c({ gzip: true, file: path, cwd: dir, portable: true }, entries.length > 0 ? entries : ['.']);
  return { path, sha256: await sha256File(path), url: pathToFileURL(path).href };
}
