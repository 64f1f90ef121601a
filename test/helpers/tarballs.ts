/**
 * Hand-made tar archives, header by header, to write what a normal packer would not: absolute
 * paths, `..`, link chains out of the destination, hard links out of the tree, devices, entries
 * that claim absurd sizes.
 */
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

/** One entry of a hand-made archive. */
export interface RawEntry {
  readonly path: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  readonly linkpath?: string;
  readonly body?: string;
  readonly mode?: number;
  /** The size the header claims (default: the body's); a lie makes a header-only bomb. */
  readonly size?: number;
}

/** The tar bytes holding exactly `entries`, uncompressed. */
export function rawTar(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const block = Buffer.alloc(512);
    const type = e.type ?? 'File';
    new tar.Header({
      path: e.path,
      type,
      linkpath: e.linkpath,
      size: e.size ?? body.length,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      ...(type === 'CharacterDevice' || type === 'BlockDevice' ? { devmaj: 1, devmin: 3 } : {}),
    }).encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The gzipped tar holding exactly `entries`. */
export function rawArchive(entries: readonly RawEntry[]): Buffer {
  return gzipSync(rawTar(entries));
}

/** Writes the gzipped archive of `entries` to `file`; returns `file`. */
export async function writeArchive(file: string, entries: readonly RawEntry[]): Promise<string> {
  await writeFile(file, rawArchive(entries));
  return file;
}
