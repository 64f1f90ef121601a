/**
 * The reference a MapReduce word count is checked against: a direct count of the input, and the
 * job's output read back with the partitioning checked.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { partitionOf, type Counts } from '../../frameworks/mapreduce/wordcount.js';
import type { MapReduceJob } from '../../proto/gen/galaxy/v1/mapreduce.js';

/** A direct count of the words of every file of `dir`, lower-cased as the job counts them. */
export async function directCount(dir: string): Promise<Counts> {
  const counts: Counts = new Map();
  for (const name of await readdir(dir)) {
    const text = await readFile(join(dir, name), 'utf8');
    for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

/** Reads the job's output files; each word must be in the partition its hash names, once. */
export async function collected(job: MapReduceJob): Promise<Counts> {
  const counts: Counts = new Map();
  const files = job.summary?.outputFiles ?? [];
  expect(files).toHaveLength(job.spec?.reduces ?? -1);
  for (const [r, file] of files.entries()) {
    for (const line of (await readFile(file, 'utf8')).split('\n').filter(Boolean)) {
      const [word = '', n = ''] = line.split('\t');
      expect(partitionOf(word, files.length)).toBe(r);
      expect(counts.has(word)).toBe(false);
      counts.set(word, Number(n));
    }
  }
  return counts;
}

/** The counts as word-ordered pairs, for comparing two counts. */
export const sorted = (c: Counts): [string, number][] => [...c.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
