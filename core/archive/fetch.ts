/**
 * Downloading an archive (a package, a data package, a root filesystem image) from a `file:///`
 * or `http(s)://` URL into a file, bounded in size and time, hashing it on the way: the caller
 * compares the SHA-256 before it unpacks anything.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { GalaxyError, type ErrorCode } from '../errors.js';
import type { ArchiveLimits } from './guard.js';

/** Limits of one download. */
export interface FetchLimits {
  /** Largest archive accepted (default 1 GiB). */
  maxBytes?: number;
  /** Whole download, redirects included (default 5 minutes). */
  timeoutMs?: number;
  /** Aborts the download (the worker is shutting down). */
  signal?: AbortSignal;
  /** Bounds of the unpacked archive (default `DEFAULT_ARCHIVE_LIMITS`). */
  archive?: Partial<ArchiveLimits>;
  /** The code of the errors (default `GALAXY_E_PACKAGE`; images: `GALAXY_E_IMAGE`). */
  code?: ErrorCode;
}

const DEFAULT_MAX_BYTES = 1024 ** 3;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/**
 * Copies the archive at `source` to `file`, enforcing the size cap and timeout; resolves with its
 * hex SHA-256.
 * @throws GalaxyError of `limits.code` when it cannot be fetched or is too large
 */
export async function downloadArchive(source: string, file: string, limits: FetchLimits = {}): Promise<string> {
  const code = limits.code ?? 'GALAXY_E_PACKAGE';
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeout = AbortSignal.timeout(limits.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = limits.signal ? AbortSignal.any([timeout, limits.signal]) : timeout;
  const hash = createHash('sha256');
  let size = 0;
  const meter = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      size += chunk.length;
      if (size > maxBytes) throw new GalaxyError(code, `${source} holds more than the limit of ${maxBytes} bytes`);
      hash.update(chunk);
      yield chunk;
    }
  };
  try {
    await pipeline(await open(source, maxBytes, signal, code), meter, createWriteStream(file), { signal });
  } catch (error) {
    if (error instanceof GalaxyError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new GalaxyError(code, `${source} could not be fetched: ${reason}`, { cause: error });
  }
  return hash.digest('hex');
}

/** A readable stream of the archive at `source`. */
async function open(source: string, maxBytes: number, signal: AbortSignal, code: ErrorCode): Promise<Readable> {
  if (source.startsWith('file:///')) return createReadStream(fileURLToPath(source));
  if (!/^https?:\/\//.test(source)) {
    throw new GalaxyError(code, `${source} is not a file:///, http:// or https:// URL`);
  }
  const response = await fetch(source, { redirect: 'follow', signal });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new GalaxyError(code, `${source} answered HTTP ${response.status} ${response.statusText}`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > maxBytes) {
    await response.body.cancel();
    throw new GalaxyError(code, `${source} is ${length} bytes, more than the limit of ${maxBytes}`);
  }
  // fetch's stream type comes from the DOM typings; at run time it is node's web stream.
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}
