/**
 * Attacks from inside a real container on the agent's loopback (docs/security.md, "Networks"): a
 * task of a real agent with the tcp isolator, on the real kernel. Each test is one rule and would
 * fail without it.
 *
 * - The container has its own network namespace: a service listening on the agent's 127.0.0.1 (a
 *   test's, and the master's own port) refuses it, dialled as 127.0.0.1 or through the host side of
 *   its veth; a service on the agent's other addresses answers it (it is not cut off).
 * - The host side of each veth routes 127.0.0.0/8 (`route_localnet`: the agent's own loopback
 *   clients reach published ports through it), so a task that crafts its own frames (real root,
 *   NET_RAW) could address the agent's loopback through the veth; the `guard` chain of its table
 *   drops them. A control frame to the agent's veth address arrives, so the channel is real.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';

let cluster: KernelCluster;

beforeAll(async () => {
  cluster = await startKernelCluster({ name: 'netattack', resources: 'cpus:2;mem:1GiB', isolation: 'cpu,memory,tcp' });
});

afterAll(async () => {
  expect(await cluster.stop()).toEqual([]);
});

/** A TCP server on `host` that counts the connections it accepts. */
async function listening(host: string): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined); // the dialler hangs up at once
    socket.end('welcome\n');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, accepted: () => accepted };
}

/** A UDP socket on `host` that keeps what it receives. */
async function udp(host: string): Promise<{ socket: Socket; port: number; received: string[] }> {
  const socket = createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (message) => received.push(message.toString()));
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return { socket, port: socket.address().port, received };
}

/** Runs `shell` to its end in a container with `env`; returns its stdout. */
async function run(shell: string, env: Record<string, string>, user = ''): Promise<string> {
  const id = await cluster.launch({ shell, env, user });
  const status = await cluster.until(id, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED, TaskState.TASK_ERROR]);
  const sandbox = await cluster.sandboxOf(id);
  const stdout = readFileSync(join(sandbox, 'stdout'), 'utf8');
  const stderr = readFileSync(join(sandbox, 'stderr'), 'utf8');
  expect(status.state, `${status.message}\n${stderr}`).toBe(TaskState.TASK_FINISHED);
  return stdout;
}

describe("a container and the agent's loopback", () => {
  it("cannot connect to the agent's loopback services, the master among them", async () => {
    const loopback = await listening('127.0.0.1');
    const open = await listening('0.0.0.0');
    const master = cluster.master.address.split(':').at(-1) ?? '';
    try {
      const dial = (name: string, host: string, port: string) =>
        `if timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null; then echo "${name} open"; else echo "${name} refused"; fi`;
      const stdout = await run(
        [
          dial('loopback', '127.0.0.1', '$LOOPBACK'),
          dial('master', '127.0.0.1', '$MASTER'),
          dial('loopback-via-veth', '$GALAXY_HOST_IP', '$LOOPBACK'),
          dial('master-via-veth', '$GALAXY_HOST_IP', '$MASTER'),
          dial('open-service', '$GALAXY_HOST_IP', '$OPEN'),
        ].join('; '),
        { LOOPBACK: String(loopback.port), MASTER: master, OPEN: String(open.port) },
      );
      expect(stdout.trim().split('\n')).toEqual([
        'loopback refused',
        'master refused',
        'loopback-via-veth refused',
        'master-via-veth refused',
        'open-service open',
      ]);
      expect(loopback.accepted()).toBe(0);
      expect(open.accepted()).toBe(1);
    } finally {
      loopback.server.close();
      open.server.close();
    }
  });

  it("drops frames a raw-socket task addresses to the agent's 127.0.0.1 through its veth", async () => {
    const loopback = await udp('127.0.0.1');
    const control = await udp('0.0.0.0');
    try {
      // Real root (an admin's authority) keeps NET_RAW over the container's network namespace.
      const stdout = await run(
        `exec python3 -c "$CRAFT"`,
        {
          CRAFT: CRAFT_FRAMES,
          LOOPBACK: String(loopback.port),
          CONTROL: String(control.port),
        },
        'root',
      );
      expect(stdout.trim()).toBe('sent');
      await eventually(() => control.received.includes('control'), 5000, 'the control frame');
      // The attack frames were sent with the control frames, before them: nothing is on its way.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(loopback.received).toEqual([]);
    } finally {
      loopback.socket.close();
      control.socket.close();
    }
  });
});

/**
 * Python, inside the container: learns the host side's MAC from a first ordinary datagram, then
 * writes whole Ethernet frames on its veth — UDP to 127.0.0.1:$LOOPBACK (the attack) and to
 * $GALAXY_HOST_IP:$CONTROL (the control), three of each.
 */
const CRAFT_FRAMES = `
import os, socket, struct, time
host, me = os.environ['GALAXY_HOST_IP'], os.environ['GALAXY_IP']
loop_port, ctl_port = int(os.environ['LOOPBACK']), int(os.environ['CONTROL'])
ifname = [n for _, n in socket.if_nameindex() if n != 'lo'][0]
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hello', (host, ctl_port))
mac = None
for _ in range(50):
    for line in open('/proc/net/arp').read().splitlines()[1:]:
        f = line.split()
        if f[0] == host and f[3] != '00:00:00:00:00:00':
            mac = bytes.fromhex(f[3].replace(':', ''))
    if mac:
        break
    time.sleep(0.1)
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind((ifname, 0))
own = raw.getsockname()[4]
def checksum(b):
    s = sum(struct.unpack('!10H', b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
def frame(dst, port, payload):
    udp = struct.pack('!HHHH', 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, socket.inet_aton(me), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:]
    return mac + own + b'\\x08\\x00' + ip + udp
for _ in range(3):
    raw.send(frame('127.0.0.1', loop_port, b'attack'))
    raw.send(frame(host, ctl_port, b'control'))
    time.sleep(0.1)
print('sent')
`;
