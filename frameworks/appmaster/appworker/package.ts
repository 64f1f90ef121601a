/**
 * Packages: a service's release or a data package is a `.tar.gz`/`.tgz`/`.tar` fetched by URL,
 * verified against its SHA-256 and unpacked into the sandbox. An archive that would write outside
 * its directory — an absolute path, a `..`, a link pointing out — is refused as a whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { GalaxyError } from '../../../core/errors.js';

/** Limits of one download. */
export interface FetchLimits {
  /** Largest archive accepted (default 1 GiB). */
  maxBytes?: number;
  /** Whole download, redirects included (default 5 minutes). */
  timeoutMs?: number;
  /** Aborts the download (the worker is shutting down). */
  signal?: AbortSignal;
}

/** An archive built by {@link createPackage}. */
export interface BuiltPackage {
  /** Absolute path of the archive. */
  path: string;
  /** Hex SHA-256 of the archive. */
  sha256: string;
  /** `file://` URL of the archive, usable as a package `source`. */
  url: string;
}

const DEFAULT_MAX_BYTES = 1024 ** 3;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const PLAIN_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Hex SHA-256 of a file. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Fetches `source` (`file:///…` or `http(s)://…`), checks its SHA-256 and unpacks it into `into`,
 * replacing what was there. The archive is unpacked beside `into` first and renamed into place,
 * so `into` is either the old content or the complete new one, and a failure leaves nothing behind.
 * @throws GalaxyError GALAXY_E_PACKAGE when the download, the checksum or an entry is bad
 */
export async function fetchPackage(
  source: string,
  sha256: string,
  into: string,
  limits: FetchLimits = {},
): Promise<void> {
  const target = resolve(into);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.staging-`));
  try {
    const archive = join(staging, 'archive');
    const actual = await download(source, archive, limits);
    if (actual !== sha256.toLowerCase()) {
      throw new GalaxyError(
        'GALAXY_E_PACKAGE',
        `${source} failed its checksum: expected sha256 ${sha256}, got ${actual}; fix the sha256 in the job spec or the archive`,
      );
    }
    await checkEntries(source, archive);
    const root = join(staging, 'root');
    await mkdir(root);
    await tar
      .x({ file: archive, cwd: root, strict: true, preservePaths: false, preserveOwner: false })
      .catch((error: unknown) => {
        throw packageError(source, 'could not be unpacked', error);
      });
    await swapInto(root, target, join(staging, 'old'));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Puts `fresh` at `target`, moving any previous `target` to `aside` (restored if the swap fails). */
async function swapInto(fresh: string, target: string, aside: string): Promise<void> {
  const existed = await stat(target).then(
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

/** Copies the archive to `file`, enforcing the size cap and timeout; resolves with its SHA-256. */
async function download(source: string, file: string, limits: FetchLimits): Promise<string> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeout = AbortSignal.timeout(limits.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = limits.signal ? AbortSignal.any([timeout, limits.signal]) : timeout;
  const hash = createHash('sha256');
  let size = 0;
  const meter = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      size += chunk.length;
      if (size > maxBytes)
        throw new GalaxyError('GALAXY_E_PACKAGE', `${source} holds more than the limit of ${maxBytes} bytes`);
      hash.update(chunk);
      yield chunk;
    }
  };
  try {
    await pipeline(await open(source, maxBytes, signal), meter, createWriteStream(file), { signal });
  } catch (error) {
    throw packageError(source, 'could not be fetched', error);
  }
  return hash.digest('hex');
}

/** A readable stream of the archive at `source`. */
async function open(source: string, maxBytes: number, signal: AbortSignal): Promise<Readable> {
  if (source.startsWith('file:///')) return createReadStream(fileURLToPath(source));
  if (!/^https?:\/\//.test(source)) {
    throw new GalaxyError('GALAXY_E_PACKAGE', `${source} is not a file:///, http:// or https:// URL`);
  }
  const response = await fetch(source, { redirect: 'follow', signal });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new GalaxyError('GALAXY_E_PACKAGE', `${source} answered HTTP ${response.status} ${response.statusText}`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > maxBytes) {
    await response.body.cancel();
    throw new GalaxyError('GALAXY_E_PACKAGE', `${source} is ${length} bytes, more than the limit of ${maxBytes}`);
  }
  // fetch's stream type comes from the DOM typings; at run time it is node's web stream.
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}

/** Reads every entry of the archive and refuses the first one that would land outside its root. */
async function checkEntries(source: string, archive: string): Promise<void> {
  let refusal: string | undefined;
  await tar
    .t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        refusal ??= whyRefused(entry.path, entry.type, entry.linkpath);
      },
    })
    .catch((error: unknown) => {
      throw packageError(source, 'is not a readable tar archive', error);
    });
  if (refusal !== undefined) {
    throw new GalaxyError('GALAXY_E_PACKAGE', `${source} was refused: ${refusal}; nothing was unpacked`);
  }
}

/** Why an entry may not be unpacked, or undefined when it stays inside the root. */
export function whyRefused(path: string, type: string, linkpath?: string): string | undefined {
  if (escapes(path)) return `entry "${path}" is absolute or escapes with ".."`;
  if (type === 'SymbolicLink') {
    const target = linkpath ?? '';
    const resolved = posix.normalize(posix.join(posix.dirname(path), target));
    if (target.startsWith('/') || escapes(resolved)) return `symlink "${path}" points outside the package: "${target}"`;
  } else if (type === 'Link') {
    if (escapes(linkpath ?? '')) return `hardlink "${path}" points outside the package: "${linkpath ?? ''}"`;
  } else if (!PLAIN_TYPES.has(type)) {
    return `entry "${path}" is a ${type}, which a package may not hold`;
  }
  return undefined;
}

/** True when a path inside an archive is absolute or climbs with `..`. */
function escapes(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.split(/[\\/]/).includes('..');
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
