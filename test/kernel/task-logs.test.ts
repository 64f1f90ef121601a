/**
 * Task output in real containers: the container's init rotates a chatty task's stdout by size,
 * so a task under a disk quota that prints far more than its quota (`disk-du`, which kills a task
 * whose sandbox holds more than its quota) stays alive; the master's Logs stream follows its
 * output across rotations, in order, flagging any output rotated away before it was read; and the
 * files are written as the container's own host uid, never as root.
 */
import { credentials } from '@grpc/grpc-js';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { LogStream, LogsClient, type LogChunk } from '../../proto/gen/galaxy/v1/logs.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { eventually } from '../helpers/async-queue.js';

const MiB = 1024 ** 2;
let cluster: KernelCluster;

beforeAll(async () => {
  cluster = await startKernelCluster({
    name: 'logs',
    resources: 'cpus:2;mem:1GiB;disk:1GiB',
    isolation: 'cpu,memory,disk-du',
    logRotation: { maxBytes: MiB, maxFiles: 3 },
  });
});

afterAll(async () => {
  expect(await cluster.stop()).toEqual([]);
});

/** About 64 KiB a line, numbered: `chunk <n> xxxx…`. */
const CHATTY = 'i=0; while :; do i=$((i+1)); printf "chunk %d " $i; head -c 65000 /dev/zero | tr "\\0" x; echo; done';

describe('rotated task output', () => {
  it(
    'keeps a task printing over twice its disk quota alive, its output in at most 3 files of 1 MiB',
    { timeout: 120_000 },
    async () => {
      const id = await cluster.launch({
        shell: CHATTY,
        resources: { cpus: 500, mem: 64 * MiB, disk: 8 * MiB, gpus: 0, ports: [] },
      });
      await cluster.until(id, [TaskState.TASK_RUNNING]);
      const sandbox = await cluster.sandboxOf(id);
      const client = new LogsClient(cluster.master.address, credentials.createInsecure());
      try {
        // Follow from the start while it writes about 19 MiB (300 lines), over twice its quota.
        const seen: number[] = [];
        let gaps = 0;
        const call = client.read({
          taskId: id,
          frameworkId: '',
          stream: LogStream.LOG_STREAM_STDOUT,
          follow: true,
          sinceMs: 0,
        });
        let partial = '';
        call.on('data', (chunk: LogChunk) => {
          if (chunk.gap) gaps += 1;
          partial += chunk.data.toString('latin1');
          const lines = partial.split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            const match = /^chunk (\d+) /.exec(line);
            if (match) seen.push(Number(match[1]));
          }
        });
        call.on('error', () => undefined);
        await eventually(() => (seen.at(-1) ?? 0) > 300, 90_000, 'the follower past chunk 300');
        call.cancel();

        // Never killed for its disk: still running, well past its quota.
        const running = cluster.master.view.tasks('').find((t) => t.taskId === id);
        expect(TaskState[running?.state ?? 0]).toBe('TASK_RUNNING');
        // In order, none repeated; a jump only where the stream said output was rotated away.
        const jumps = seen.slice(1).filter((n, k) => n !== (seen[k] ?? 0) + 1);
        expect(seen.slice(1).every((n, k) => n > (seen[k] ?? 0))).toBe(true);
        if (jumps.length > 0) expect(gaps).toBeGreaterThan(0);
        expect(seen.length).toBeGreaterThan(40); // read across many rotations

        const files = (await readdir(sandbox)).filter((f) => f.startsWith('stdout')).sort();
        expect(files).toEqual(['stdout', 'stdout.1', 'stdout.2']);
        for (const file of files) {
          const info = await stat(join(sandbox, file));
          expect(info.size).toBeLessThanOrEqual(MiB);
          expect(info.uid).not.toBe(0); // the writer runs as the container's root on the host
        }
        await cluster.kill(id);
      } finally {
        client.close();
      }
    },
  );

  it('ends a follower when the task ends, its last line written', { timeout: 60_000 }, async () => {
    const id = await cluster.launch({ shell: 'for i in 1 2 3; do echo line-$i; sleep 0.2; done; echo last' });
    const client = new LogsClient(cluster.master.address, credentials.createInsecure());
    try {
      await cluster.until(id, [TaskState.TASK_RUNNING]);
      const text = await new Promise<string>((resolve, reject) => {
        let out = '';
        const call = client.read({
          taskId: id,
          frameworkId: '',
          stream: LogStream.LOG_STREAM_STDOUT,
          follow: true,
          sinceMs: 0,
        });
        call.on('data', (chunk: LogChunk) => {
          out += chunk.data.toString();
        });
        call.on('end', () => {
          resolve(out);
        });
        call.on('error', reject);
      });
      expect(text).toBe('line-1\nline-2\nline-3\nlast\n');
      expect((await cluster.until(id, [TaskState.TASK_FINISHED])).state).toBe(TaskState.TASK_FINISHED);
    } finally {
      client.close();
    }
  });
});
