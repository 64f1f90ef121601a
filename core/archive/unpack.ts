/**
 * Unpacking a tar archive (plain or gzip) into a fresh directory, every entry admitted by one
 * {@link ArchiveGuard} first. Two passes over the file: the first reads every header through the
 * guard and writes nothing, so a refused archive leaves no trace; the second writes the entries
 * ({@link EntryWriter}, which never follows a link) behind a fresh guard, so the very same rules
 * hold for what is written. Decompressed bytes are metered against the
 * guard's bounds, so a compression bomb is cut off rather than read to its end.
 */
import { mkdir, open, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { GalaxyError } from '../errors.js';
import { ArchiveGuard, DEFAULT_ARCHIVE_LIMITS, type GuardOptions } from './guard.js';
import { EntryWriter } from './writer.js';

/** How {@link unpackArchive} reads an archive. */
export interface UnpackOptions extends GuardOptions {
  /** Keep setuid, setgid and sticky bits (root filesystem images); packages lose them. */
  readonly keepSpecialBits?: boolean;
}

const GZIP = Buffer.from([0x1f, 0x8b]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Bytes a tar stream holds beyond its files' data: a header and padding per entry, the end blocks. */
const PER_ENTRY_OVERHEAD = 1536;
const END_OVERHEAD = 1024 * 1024;

/**
 * Unpacks the tar or `.tar.gz` file `archive` into `dest`, which must not exist yet: it is made
 * here, and removed again if anything fails. Nothing is written until every entry has been admitted.
 * @param what names the archive in errors (its URL)
 * @throws GalaxyError GALAXY_E_PACKAGE naming the first refused entry and why, or what failed
 */
export async function unpackArchive(
  archive: string,
  dest: string,
  what: string,
  options: UnpackOptions = {},
): Promise<void> {
  await readEntries(archive, what, options, undefined);
  await mkdir(dest);
  try {
    await readEntries(archive, what, options, dest);
  } catch (error) {
    await rm(dest, { recursive: true, force: true });
    throw error;
  }
}

/** One pass: through the guard only (`dest` undefined), or writing into `dest` as well. */
async function readEntries(archive: string, what: string, options: UnpackOptions, dest: string | undefined) {
  const guard = new ArchiveGuard(options);
  const limits = { ...DEFAULT_ARCHIVE_LIMITS, ...options.limits };
  let refusal: string | undefined;
  const writer =
    dest === undefined
      ? undefined
      : new EntryWriter(dest, options.keepSpecialBits === true, (error) => {
          parser.abort(error);
        });
  const parser = new tar.Parser({
    strict: true,
    maxMetaEntrySize: 1024 * 1024,
    // The guard sees each header before its entry is emitted (and before any byte of it is written).
    filter: (_path, entry) => {
      // Only packing hands a filter Stats; parsing always hands it the entry.
      if (!(entry instanceof tar.ReadEntry)) return false;
      refusal ??= guard.admit({ path: entry.path, type: entry.type, linkpath: entry.linkpath, size: entry.size });
      if (refusal === undefined) return true;
      parser.abort(new GalaxyError('GALAXY_E_PACKAGE', `${what} was refused: ${refusal}; nothing was unpacked`));
      return false;
    },
    onReadEntry: (entry) => {
      if (writer) writer.write(entry);
      else entry.resume();
    },
  });
  const cap = limits.maxBytes + limits.maxEntries * PER_ENTRY_OVERHEAD + END_OVERHEAD;
  const source = await tarStream(archive, what, cap);
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('error', reject);
      parser.on('end', () => {
        resolve();
      });
      source.on('error', (error: Error) => {
        reject(error);
        source.unpipe();
      });
      source.pipe(parser);
    });
    await writer?.done();
  } catch (error) {
    source.destroy();
    await writer?.done().catch(() => undefined);
    if (error instanceof GalaxyError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const verb = dest === undefined ? 'is not a readable tar archive' : 'could not be unpacked';
    throw new GalaxyError('GALAXY_E_PACKAGE', `${what} ${verb}: ${reason}`, { cause: error });
  }
  if (refusal !== undefined)
    throw new GalaxyError('GALAXY_E_PACKAGE', `${what} was refused: ${refusal}; nothing was unpacked`);
}

/** The archive's tar stream: gunzipped when it is gzip, metered to `cap` bytes. */
async function tarStream(archive: string, what: string, cap: number): Promise<Readable> {
  const head = Buffer.alloc(4);
  const handle = await open(archive, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (head.subarray(0, 4).equals(ZSTD))
    throw new GalaxyError('GALAXY_E_PACKAGE', `${what} is zstd-compressed; use a .tar or a .tar.gz`);
  const file = createReadStream(archive);
  const gzip = head.subarray(0, 2).equals(GZIP);
  const meter = new TarMeter(what, cap, gzip);
  if (!gzip) return file.pipe(meter);
  const gunzip = createGunzip();
  file.on('error', (error) => gunzip.destroy(error));
  gunzip.on('error', (error) => meter.destroy(error));
  return file.pipe(gunzip).pipe(meter);
}

/**
 * Counts the tar stream's bytes and fails past `cap`; refuses a second layer of compression
 * inside a gzip (node-tar would decompress it again, behind the meter's back).
 */
class TarMeter extends Transform {
  private bytes = 0;
  private head = Buffer.alloc(0);

  constructor(
    private readonly what: string,
    private readonly cap: number,
    private readonly unzipped: boolean,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.cap) {
      callback(new GalaxyError('GALAXY_E_PACKAGE', `${this.what} decompresses to more than ${this.cap} bytes`));
      return;
    }
    if (this.unzipped && this.head.length < 4) {
      this.head = Buffer.concat([this.head, chunk]).subarray(0, 4);
      if (this.head.subarray(0, 2).equals(GZIP) || this.head.equals(ZSTD)) {
        callback(new GalaxyError('GALAXY_E_PACKAGE', `${this.what} is compressed twice; use a .tar or a .tar.gz`));
        return;
      }
    }
    callback(null, chunk);
  }
}
