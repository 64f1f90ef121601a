/**
 * How the MapReduce framework talks to its running tasks over HTTP: a worker answers `/status`
 * (ready yet? for a reduce, its counts) and a reduce `/output` (its partition's counts), which the
 * framework writes into the job's output directory.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkerStatus } from './worker.js';

/** How long a status poll may take before it counts as unanswered. */
const STATUS_TIMEOUT_MS = 1000;
/** How long collecting a reduce's output may take. */
const OUTPUT_TIMEOUT_MS = 10_000;

/** The name of reduce `r`'s output file. */
export const outputName = (r: number): string => `part-r-${String(r).padStart(5, '0')}`;

/** The status of the worker at `address` (`host:port`); undefined when it does not answer. */
export async function workerStatus(address: string): Promise<WorkerStatus | undefined> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    if (!res.ok) return undefined;
    return (await res.json()) as WorkerStatus;
  } catch {
    return undefined;
  }
}

/**
 * Fetches the output of reduce `index` from `address` and writes it, whole or not at all, into
 * `outputDir`; resolves with the file's path. Rejects when the reduce does not answer.
 */
export async function collectOutput(address: string, outputDir: string, index: number): Promise<string> {
  const res = await fetch(`http://${address}/output`, { signal: AbortSignal.timeout(OUTPUT_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const text = await res.text();
  const file = join(outputDir, outputName(index));
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
  return file;
}
