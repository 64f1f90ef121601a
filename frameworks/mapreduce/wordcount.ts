/**
 * Word count, the MapReduce framework's reference job, as pure functions: splitting an input into
 * byte ranges, counting the words that start in a range, partitioning words by a stable hash, and
 * merging partitions. A word is a maximal run of ASCII letters and digits, lower-cased; every
 * other byte separates words.
 */

/** A byte range `[start, end)` of one input file. */
export interface FileRange {
  readonly path: string;
  readonly start: number;
  readonly end: number;
}

/** What one map task reads: consecutive byte ranges, possibly of several files. */
export type Split = readonly FileRange[];

/** Word counts. */
export type Counts = Map<string, number>;

/**
 * Cuts `files` (in order, with their sizes) into `m` splits of nearly equal byte counts. Always
 * returns `m` splits; some are empty when the input has fewer bytes than `m`.
 */
export function splitInput(files: readonly { path: string; size: number }[], m: number): Split[] {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const splits: FileRange[][] = Array.from({ length: m }, () => []);
  let offset = 0; // global offset of the current file's first byte
  for (const file of files) {
    let at = 0;
    while (at < file.size) {
      const k = Math.min(m - 1, Math.floor(((offset + at) * m) / Math.max(total, 1)));
      // The global offset where split k ends.
      const boundary = Math.ceil(((k + 1) * total) / m);
      const end = Math.min(file.size, Math.max(at + 1, boundary - offset));
      splits[k]?.push({ path: file.path, start: at, end });
      at = end;
    }
    offset += file.size;
  }
  return splits;
}

const isWordByte = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

/**
 * Counts into `counts` the words that START in `[start, end)` of a file. `data` holds the file's
 * bytes from `dataOffset`; it must include byte `start - 1` (when `start > 0`), and run past the
 * end of a word that starts before `end` (or to the end of the file). Words are counted exactly
 * once over all the ranges of a file, wherever the cuts fall.
 */
export function countRange(data: Buffer, dataOffset: number, start: number, end: number, counts: Counts): void {
  let i = start - dataOffset;
  // A word running across `start` belongs to the range before.
  if (start > 0) while (i < data.length && i > 0 && isWordByte(data[i - 1] ?? 0) && isWordByte(data[i] ?? 0)) i++;
  const stop = end - dataOffset;
  while (i < stop && i < data.length) {
    if (!isWordByte(data[i] ?? 0)) {
      i++;
      continue;
    }
    let j = i;
    while (j < data.length && isWordByte(data[j] ?? 0)) j++;
    const word = data.toString('latin1', i, j).toLowerCase();
    counts.set(word, (counts.get(word) ?? 0) + 1);
    i = j;
  }
}

/** True when `data` ends inside a word (the caller must read further to finish it). */
export function endsInWord(data: Buffer): boolean {
  return data.length > 0 && isWordByte(data[data.length - 1] ?? 0);
}

/** The partition (0..r-1) of a word: FNV-1a over its bytes, stable across processes and machines. */
export function partitionOf(word: string, r: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    hash ^= word.charCodeAt(i) & 0xff;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % r;
}

/** Splits counts into `r` partitions by {@link partitionOf}. */
export function partition(counts: Counts, r: number): Counts[] {
  const parts: Counts[] = Array.from({ length: r }, () => new Map<string, number>());
  for (const [word, n] of counts) parts[partitionOf(word, r)]?.set(word, n);
  return parts;
}

/** Counts as text: `word<TAB>count` lines, sorted by word. */
export function formatCounts(counts: Counts): string {
  return [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([word, n]) => `${word}\t${n}\n`)
    .join('');
}

/** Parses {@link formatCounts} text, adding into `into`. */
export function parseCounts(text: string, into: Counts = new Map()): Counts {
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const tab = line.lastIndexOf('\t');
    const n = Number(line.slice(tab + 1));
    if (tab <= 0 || !Number.isSafeInteger(n)) throw new Error(`not a word count line: "${line.slice(0, 80)}"`);
    const word = line.slice(0, tab);
    into.set(word, (into.get(word) ?? 0) + n);
  }
  return into;
}

/** Merges partitions (texts of {@link formatCounts}) into one sorted text. */
export function mergeCounts(texts: readonly string[]): string {
  const counts: Counts = new Map();
  for (const text of texts) parseCounts(text, counts);
  return formatCounts(counts);
}
