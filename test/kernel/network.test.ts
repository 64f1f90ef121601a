/**
 * The tcp isolator on the real kernel: a network namespace per container, a send rate held by
 * `tc`, and the task's port reachable on the agent's address.
 */
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Limits, TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';

let cluster: KernelCluster;

beforeAll(async () => {
  cluster = await startKernelCluster({
    name: 'net',
    resources: 'cpus:2;mem:1GiB;ports:[39100-39109]',
    isolation: 'cpu,memory,tcp',
  });
});

afterAll(async () => {
  expect(await cluster.stop()).toEqual([]);
});

/** Launches `shell` with these network limits and ports. */
function launch(shell: string, limits: Partial<Limits>, ports: { begin: number; end: number }[] = []): Promise<string> {
  return cluster.launch({
    shell,
    resources: { cpus: 200, mem: 128 * 1024 ** 2, disk: 0, gpus: 0, ports },
    limits: Limits.fromPartial(limits),
  });
}

describe('tcp isolator', () => {
  it('holds a sender to its rate ± 15 %', async () => {
    const bytes = 1_500_000;
    const rate = 8_000_000; // bits per second
    let first = 0;
    let last = 0;
    let received = 0;
    const receiver = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        if (first === 0) first = performance.now();
        received += chunk.length;
        last = performance.now();
        // Closing tells the sender every byte arrived (queued bytes die with its namespace).
        if (received >= bytes) socket.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '0.0.0.0', r));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const send = `exec 3<>/dev/tcp/$GALAXY_HOST_IP/${port}; head -c ${bytes} /dev/zero >&3; cat <&3`;
      const sender = await launch(`exec bash -c '${send}'`, { netTxBps: rate });
      await cluster.until(sender, [TaskState.TASK_FINISHED], 20_000);
      await eventually(() => received >= bytes, 5000, 'every byte');
      const measured = ((received * 8) / (last - first)) * 1000;
      expect(measured).toBeGreaterThan(rate * 0.85);
      expect(measured).toBeLessThan(rate * 1.15);
    } finally {
      receiver.close();
    }
  });

  it("makes the task's port reachable on the agent's address, from its own namespace", async () => {
    const server = `require('http').createServer((q, s) => s.end('hello from ' + process.env.GALAXY_IP)).listen(+process.env.PORT0, process.env.GALAXY_IP)`;
    const web = await launch(`exec ${process.execPath} -e "${server}"`, {}, [{ begin: 39105, end: 39105 }]);
    await cluster.until(web, [TaskState.TASK_RUNNING]);
    const body = await eventually(
      () =>
        new Promise<string | undefined>((resolve) => {
          const req = request({ host: '127.0.0.1', port: 39105, path: '/' }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => {
              resolve(text);
            });
          });
          req.on('error', () => {
            resolve(undefined);
          });
          req.end();
        }),
      10_000,
      'the web task to answer',
    );
    expect(body).toMatch(/^hello from 10\.213\.\d+\.\d+$/);
    expect((await cluster.kill(web)).state).toBe(TaskState.TASK_KILLED);
  });
});
