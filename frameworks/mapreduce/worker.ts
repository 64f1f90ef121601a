/**
 * The program a MapReduce task runs inside its container: `node worker.js`, configured by the
 * `GALAXY_MR_TASK` environment variable (a {@link WorkerTask} as JSON). It first serves
 * `GET /status` on its port, then works, then serves what it produced until it is killed:
 * - a map task counts the words of its split, writes R partition files into its sandbox and
 *   serves them at `GET /partition/<r>` — to reducers on any agent;
 * - a reduce task fetches its partition from every map over the network, merges them, writes its
 *   output into its sandbox and serves it at `GET /output` — to the framework.
 * A reduce task that cannot reach a map exits with {@link MAP_UNREACHABLE_EXIT}.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { countRange, endsInWord, mergeCounts, parseCounts, partition, formatCounts, type Split } from './wordcount.js';

/** What a task is told to do. */
export type WorkerTask =
  | {
      readonly kind: 'map';
      readonly index: number;
      readonly split: Split;
      readonly reduces: number;
      readonly port: number;
    }
  | { readonly kind: 'reduce'; readonly index: number; readonly maps: readonly string[]; readonly port: number };

/** What `GET /status` answers. */
export interface WorkerStatus {
  readonly taskId: string;
  readonly ready: boolean;
  /** Distinct words and total words produced (a map: of its split; a reduce: of its partition). */
  readonly words: number;
  readonly total: number;
}

/** The exit code of a reduce task that could not fetch a map's partition. */
export const MAP_UNREACHABLE_EXIT = 3;

/** Reads one range of a file, plus the byte before it and the rest of a word cut at its end. */
async function readRange(path: string, start: number, end: number): Promise<{ data: Buffer; offset: number }> {
  const file = await open(path, 'r');
  try {
    const offset = Math.max(0, start - 1);
    let data = Buffer.alloc(end - offset);
    const { bytesRead } = await file.read(data, 0, data.length, offset);
    data = data.subarray(0, bytesRead);
    while (endsInWord(data)) {
      const more = Buffer.alloc(4096);
      const extra = await file.read(more, 0, more.length, offset + data.length);
      if (extra.bytesRead === 0) break;
      data = Buffer.concat([data, more.subarray(0, extra.bytesRead)]);
    }
    return { data, offset };
  } finally {
    await file.close();
  }
}

/** Counts a split's words and writes its R partitions; returns their paths and the totals. */
async function runMap(task: Extract<WorkerTask, { kind: 'map' }>, dir: string) {
  const counts = new Map<string, number>();
  for (const range of task.split) {
    const { data, offset } = await readRange(range.path, range.start, range.end);
    countRange(data, offset, range.start, range.end, counts);
  }
  const files: string[] = [];
  for (const [r, part] of partition(counts, task.reduces).entries()) {
    const file = join(dir, `part-m-${task.index}-r-${r}.tsv`);
    await writeFile(file, formatCounts(part));
    files.push(file);
  }
  let total = 0;
  for (const n of counts.values()) total += n;
  return { files, words: counts.size, total };
}

/** GETs `url` as text, retrying a few times; throws when it never answers 200. */
async function fetchText(url: string, tries = 5): Promise<string> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return await res.text();
      last = new Error(`HTTP ${res.status}`);
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url}: ${last instanceof Error ? last.message : String(last)}`);
}

/** Fetches partition `index` from every map, merges and writes it; returns its path and totals. */
async function runReduce(task: Extract<WorkerTask, { kind: 'reduce' }>, dir: string) {
  const parts: string[] = [];
  for (const [m, address] of task.maps.entries()) {
    try {
      parts.push(await fetchText(`http://${address}/partition/${task.index}`));
    } catch (error) {
      console.error(`map ${m} at ${address} unreachable: ${(error as Error).message}`);
      process.exit(MAP_UNREACHABLE_EXIT);
    }
    console.log(`fetched partition ${task.index} of map ${m} from ${address}`);
  }
  const merged = mergeCounts(parts);
  const file = join(dir, `part-r-${task.index}.tsv`);
  await writeFile(file, merged);
  let total = 0;
  const counts = parseCounts(merged);
  for (const n of counts.values()) total += n;
  return { files: [file], words: counts.size, total };
}

function sendFile(res: ServerResponse, file: string | undefined): void {
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/tab-separated-values' });
  createReadStream(file).pipe(res);
}

async function main(): Promise<void> {
  const task = JSON.parse(process.env.GALAXY_MR_TASK ?? '') as WorkerTask;
  const taskId = process.env.GALAXY_TASK_ID ?? '';
  const dir = join(process.env.GALAXY_SANDBOX ?? process.cwd(), 'mr');
  await mkdir(dir, { recursive: true });
  let status: WorkerStatus = { taskId, ready: false, words: 0, total: 0 };
  let files: string[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status));
    } else if (!status.ready) {
      res.writeHead(503).end();
    } else if (task.kind === 'map' && url.startsWith('/partition/')) {
      sendFile(res, files[Number(url.slice('/partition/'.length))]);
    } else if (task.kind === 'reduce' && url === '/output') {
      sendFile(res, files[0]);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    // A port already taken (by another process's outgoing connection, say) is named, not a stack.
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(`${task.kind} ${task.index} cannot listen on port ${task.port}: ${error.code ?? error.message}`),
      );
    });
    server.listen(task.port, '0.0.0.0', resolve);
  });
  const done = task.kind === 'map' ? await runMap(task, dir) : await runReduce(task, dir);
  files = done.files;
  status = { taskId, ready: true, words: done.words, total: done.total };
  console.log(`${task.kind} ${task.index} ready on port ${task.port}: ${done.words} distinct, ${done.total} words`);
  // Serve until killed: the framework kills a map once every reducer has its partition.
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
