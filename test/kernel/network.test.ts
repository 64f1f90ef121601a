/**
 * The tcp isolator on the real kernel: a network namespace per container, a send rate held by
 * `tc`, the task's port published on the agent's addresses by nftables rules, and other hosts
 * reached through NAT. Nothing of it outlives the container.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { networkFor } from '../../isolators/tcp/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Limits, TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { machineAddress } from '../helpers/hosts.js';

let cluster: KernelCluster;

beforeAll(async () => {
  cluster = await startKernelCluster({
    name: 'net',
    resources: 'cpus:2;mem:1GiB;ports:[26100-26109]',
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

  it("publishes the task's port on the agent's addresses, and removes every trace with the container", async () => {
    const server = `require('http').createServer((q, s) => s.end('hello from ' + process.env.GALAXY_IP)).listen(+process.env.PORT0, process.env.GALAXY_IP)`;
    const web = await launch(`exec ${process.execPath} -e "${server}"`, {}, [{ begin: 26105, end: 26105 }]);
    await cluster.until(web, [TaskState.TASK_RUNNING]);
    // From the agent's own loopback, and from its address on the network (what other hosts dial).
    const body = await eventually(() => get('127.0.0.1', 26105), 10_000, 'the web task to answer');
    expect(body).toMatch(/^hello from 10\.213\.\d+\.\d+$/);
    expect(await get(machineAddress(), 26105)).toBe(body);
    // The port is the kernel's (a DNAT rule in the container's own table), not a proxy in the agent.
    const container = [...cluster.agent.tasks.values()].find((r) => r.info.taskId === web)?.containerId ?? '';
    const net = networkFor(cluster.cgroupRoot, container, 0);
    expect(execFileSync('nft', ['list', 'table', 'ip', net.netns], { encoding: 'utf8' })).toContain('dport 26105');
    expect((await cluster.kill(web)).state).toBe(TaskState.TASK_KILLED);
    await eventually(() => !existsSync(`/run/netns/${net.netns}`), 5000, 'the namespace removed');
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(net.netns);
    expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toContain(net.hostIf);
    expect(await get('127.0.0.1', 26105)).toBeUndefined();
  });

  it('reaches another host through NAT: the other host sees the agent, never the container', async () => {
    // "Another host": a network namespace behind its own veth, on a /30 no container is in, with
    // no route back to the containers' 10.213/16 (so only NAT can make the connection work).
    const tag = randomBytes(3).toString('hex');
    const remote = `galaxy-remote-${tag}`;
    const hostSide = `gxhr${tag}`;
    const remoteSide = `gxr${tag}`;
    const base = randomInt(0, 64) * 4;
    const [gateway, address] = [`198.51.100.${base + 1}`, `198.51.100.${base + 2}`];
    const ip = (...args: string[]) => execFileSync('ip', args);
    let server: ReturnType<typeof spawn> | undefined;
    try {
      ip('netns', 'add', remote);
      ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', remoteSide);
      ip('link', 'set', remoteSide, 'netns', remote);
      ip('addr', 'add', `${gateway}/30`, 'dev', hostSide);
      ip('link', 'set', hostSide, 'up');
      ip('netns', 'exec', remote, 'ip', 'addr', 'add', `${address}/30`, 'dev', remoteSide);
      ip('netns', 'exec', remote, 'ip', 'link', 'set', remoteSide, 'up');
      const peerOf = `require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(7000, '${address}', () => console.log('up'))`;
      server = spawn('ip', ['netns', 'exec', remote, process.execPath, '-e', peerOf], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise((resolve) => server?.stdout?.once('data', resolve));
      const client = await launch(`exec bash -c 'exec 3<>/dev/tcp/${address}/7000 && cat <&3'`, {});
      expect((await cluster.until(client, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED])).state).toBe(
        TaskState.TASK_FINISHED,
      );
      expect(readFileSync(join(await cluster.sandboxOf(client), 'stdout'), 'utf8').trim()).toBe(gateway);
    } finally {
      server?.kill('SIGKILL');
      execFileSync('ip', ['netns', 'delete', remote], { stdio: 'ignore' });
      // Deleting the namespace takes the pair with it, in the kernel's own time: delete what is left.
      try {
        execFileSync('ip', ['link', 'delete', hostSide], { stdio: 'ignore' });
      } catch {
        // already gone with the namespace
      }
    }
  });
});

/** GET http://<host>:<port>/; undefined when nothing answers. */
function get(host: string, port: number): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    const req = request({ host, port, path: '/', timeout: 2000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        resolve(text);
      });
    });
    req.on('error', () => {
      resolve(undefined);
    });
    req.on('timeout', () => {
      req.destroy();
    });
    req.end();
  });
}
