/**
 * Attacks on the master's resources, against a real `galaxy master` process (authenticating,
 * with a `local:` coordinator) over real gRPC. Each must leave the master serving:
 *
 * - 5,000 idle connections: the master runs with 4096 file descriptors (`prlimit`), so without
 *   its connection cap it runs out of them and stops accepting; with it, `galaxy agents` (the
 *   CLI, a real process) keeps answering.
 * - a framework that subscribes and never reads its stream, then makes the master write to it:
 *   it is disconnected once its unread bytes pass the bound, and its offers go to others.
 * - a loop of thousands of subscribe/close by one user, each framework on a one-year failover
 *   timeout: refused past the per-principal limit, and the master's live heap (measured from heap
 *   snapshots, so after garbage collection) stays within a bound.
 *
 * The test process itself needs more than 5,000 descriptors: when its limit is lower it raises it
 * with `prlimit --pid` (as root), and says so.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ClientReadableStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions } from '../../core/auth/client.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { fdSoftLimit } from '../../core/grpc-limits.js';
import { UserStore } from '../../core/tenancy/users.js';
import { OperatorClient, type ListFrameworksResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { SchedulerClient, type Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually, MessageLog } from '../helpers/async-queue.js';
import { heapSnapshotEnv, liveHeapBytes } from '../helpers/heap.js';
import { GALAXY_BIN, galaxy, stopAll, type GalaxyProcess } from '../helpers/processes.js';
import { rawAgent, type RawAgent } from '../helpers/raw-clients.js';

/** The master's own fd limit: 5,000 connections would exhaust it without the cap. */
const MASTER_FDS = 4096;
/** Each client its own connection (grpc-js otherwise shares one per target). */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 };

let base = '';
let master: GalaxyProcess;
let address = '';
let admin = '';
let bob = '';
let agent: RawAgent;
let agentId = '';
const closers: (() => void)[] = [];

beforeAll(async () => {
  const wanted = 16_384;
  if ((fdSoftLimit() ?? 0) < wanted) {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${wanted}:${wanted}`]);
    console.log(`raised this test process's open-file limit to ${wanted} (prlimit) for 5,000 client sockets`);
  }
  base = await mkdtemp(join(tmpdir(), 'galaxy-sec-master-'));
  const coordinator = await openCoordinator(`local:${join(base, 'coord')}`);
  const users = await UserStore.open(coordinator);
  admin = (await users.add('admin', { admin: true })).token;
  bob = (await users.add('bob')).token;
  users.close();
  await coordinator.close();
  master = galaxy(
    [
      'master',
      '--listen',
      '127.0.0.1:0',
      '--coordinator',
      `local:${join(base, 'coord')}`,
      '--allocation-interval',
      '0.1',
      // The hand-driven agent below does not answer pings.
      '--agent-ping-interval',
      '600',
      '--limit',
      'streamQueueBytes=256KiB',
    ],
    heapSnapshotEnv(base),
    ['prlimit', `--nofile=${MASTER_FDS}:${MASTER_FDS}`, '--'],
  );
  const line = await master.lines.waitFor((l) => l.includes('"master started"'), 30_000, 'the master to start');
  address = (JSON.parse(line) as { address: string }).address;
  agent = rawAgent(address, { hostname: 'sec-host' }, [], [], admin);
  closers.push(() => {
    agent.close();
  });
  agentId = await agent.registered;
}, 60_000);

afterAll(async () => {
  for (const close of closers.splice(0)) close();
  await stopAll();
  if (base) await rm(base, { recursive: true, force: true });
});

/** Runs the CLI; resolves with its exit code, output and how long it took. */
function cli(args: string[]): { code: number; stdout: string; stderr: string; ms: number } {
  const started = Date.now();
  try {
    const stdout = execFileSync(process.execPath, [GALAXY_BIN, ...args], {
      env: { ...process.env, GALAXY_TOKEN: admin, NO_COLOR: '1', GALAXY_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '', ms: Date.now() - started };
  } catch (error) {
    const failed = error as { status?: number; stdout?: string; stderr?: string };
    return {
      code: failed.status ?? -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
      ms: Date.now() - started,
    };
  }
}

/** Sockets the process `pid` has open. */
function socketsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed while we looked
    }
  }).length;
}

function listFrameworks(token: string): Promise<ListFrameworksResponse> {
  const client = new OperatorClient(address, credentials.createInsecure(), {
    ...clientOptions(token),
    ...OWN_CONNECTION,
  });
  return new Promise((resolve, reject) => {
    client.listFrameworks({}, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response);
    });
  });
}

describe('a flood of idle connections', { timeout: 120_000 }, () => {
  it('keeps galaxy agents answering while 5,000 idle connections try to hold the master', async () => {
    const [host, port] = address.split(':');
    let stopping = false;
    const sockets = new Set<Socket>();
    /** An attacker's connection: never speaks, and comes back when dropped. */
    const attach = (): Promise<void> =>
      new Promise((resolve) => {
        if (stopping) {
          resolve();
          return;
        }
        const socket = connect(Number(port), host);
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.resume();
        socket.once('connect', () => {
          resolve();
        });
        socket.once('close', () => {
          sockets.delete(socket);
          resolve();
          if (stopping) return;
          setTimeout(() => void attach(), 1000).unref();
        });
      });
    closers.push(() => {
      stopping = true;
      for (const socket of sockets) socket.destroy();
    });
    const started = Date.now();
    for (let batch = 0; batch < 10; batch += 1) await Promise.all(Array.from({ length: 500 }, attach));
    console.log(`5,000 idle connections opened in ${Date.now() - started} ms`);
    const pid = master.child.pid ?? 0;
    const runs = [];
    for (let i = 0; i < 2; i += 1) {
      const run = cli(['agents', '--master', address, '-o', 'json']);
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as { info?: { id: string } }[]).map((a) => a.info?.id)).toContain(agentId);
      runs.push(run.ms);
    }
    console.log(`galaxy agents with 5,000 idle connections pressing: ${runs.join(' ms, ')} ms`);
    // The master held no more connections than its cap leaves room for, and is still running.
    expect(socketsOf(pid)).toBeLessThan(MASTER_FDS);
    expect(master.child.exitCode).toBeNull();
    await master.lines.waitFor((l) => l.includes('at its connection cap'), 5000, 'the master to report its cap');
    stopping = true;
    for (const socket of sockets) socket.destroy();
    // The attack is over: the master lets go of its connections.
    await eventually(() => socketsOf(pid) < 100, 20_000, 'the master to close the attack connections');
  });
});

/** A framework over its own connection whose events are logged until it stops reading. */
function subscriber(
  name: string,
  token: string,
  failoverTimeoutS = 0,
): { stream: ClientReadableStream<Event>; events: MessageLog<Event>; id: Promise<string>; client: SchedulerClient } {
  const client = new SchedulerClient(address, credentials.createInsecure(), {
    ...clientOptions(token),
    ...OWN_CONNECTION,
  });
  const stream = client.subscribe({
    frameworkInfo: { id: '', name, role: '', roles: [], user: name, failoverTimeoutS, hostname: '' },
  });
  const events = new MessageLog<Event>();
  stream.on('data', (e: Event) => {
    events.push(e);
  });
  stream.on('error', () => undefined);
  closers.push(() => {
    stream.cancel();
    client.close();
  });
  const id = events
    .waitFor((e) => e.event?.$case === 'subscribed', 10_000, 'SUBSCRIBED')
    .then((e) => (e.event?.$case === 'subscribed' ? e.event.subscribed.frameworkId : ''));
  return { stream, events, id, client };
}

describe('a subscriber that never reads', { timeout: 60_000 }, () => {
  it('is disconnected once its unread events pass the bound, and its offers go to another framework', async () => {
    const slow = subscriber('slow', admin, 3600);
    const slowId = await slow.id;
    await slow.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'an offer to the slow framework');
    slow.stream.pause();
    const other = subscriber('other', admin);
    const otherId = await other.id;
    // The slow framework makes the master write to it: each RECONCILE of unknown tasks is answered
    // with one update per task on its stream, which it does not read.
    const caller = new SchedulerClient(address, credentials.createInsecure(), {
      ...clientOptions(admin),
      ...OWN_CONNECTION,
    });
    closers.push(() => {
      caller.close();
    });
    const tasks = Array.from({ length: 1000 }, (_, i) => ({ taskId: `no-such-task-${i}`, agentId }));
    let refusal = '';
    for (let call = 0; call < 200 && refusal === ''; call += 1) {
      refusal = await new Promise<string>((resolve) => {
        caller.call({ frameworkId: slowId, call: { $case: 'reconcile', reconcile: { tasks } } }, (error) => {
          resolve(error ? error.details : '');
        });
      });
    }
    expect(refusal).toMatch(/GALAXY_E_FRAMEWORK_UNKNOWN: framework .* is not subscribed/);
    await master.lines.waitFor((l) => l.includes('stopped reading its stream'), 5000, 'the master to say why');
    // Its offer was rescinded: the agent's resources go to the framework that reads.
    const offered = await other.events.waitFor(
      (e) => e.event?.$case === 'offers' && e.event.offers.offers.some((o) => o.agentId === agentId),
      10_000,
      'an offer of the agent to the other framework',
    );
    expect(offered).toBeDefined();
    const frameworks = (await listFrameworks(admin)).frameworks;
    const slowView = frameworks.find((f) => f.info?.id === slowId);
    expect(slowView?.active).toBe(false);
    expect(slowView?.offered?.cpus ?? 0).toBe(0);
    expect(frameworks.find((f) => f.info?.id === otherId)?.active).toBe(true);
  });
});

describe('a subscribe loop', { timeout: 120_000 }, () => {
  it('is refused past the per-principal limit, and the master heap stays bounded', async () => {
    const client = new SchedulerClient(address, credentials.createInsecure(), {
      ...clientOptions(bob),
      ...OWN_CONNECTION,
    });
    closers.push(() => {
      client.close();
    });
    /** Subscribes a new framework on a one-year failover timeout, then goes away. */
    const subscribeAndLeave = (i: number): Promise<string> =>
      new Promise((resolve) => {
        const stream = client.subscribe({
          frameworkInfo: {
            id: '',
            name: `loop-${i}`,
            role: 'bob',
            user: 'bob',
            failoverTimeoutS: 365 * 86400,
            hostname: '',
            roles: [],
          },
        });
        let done = false;
        stream.on('data', (e: Event) => {
          if (done || e.event?.$case !== 'subscribed') return;
          done = true;
          stream.cancel();
          resolve('subscribed');
        });
        stream.on('error', (error: Error & { details?: string }) => {
          if (done) return;
          done = true;
          resolve(error.details ?? error.message);
        });
      });
    await subscribeAndLeave(-1);
    const pid = master.child.pid ?? 0;
    const before = await liveHeapBytes(pid, base);
    const outcomes = new Map<string, number>();
    for (let batch = 0; batch < 40; batch += 1) {
      for (const outcome of await Promise.all(
        Array.from({ length: 50 }, (_, j) => subscribeAndLeave(batch * 50 + j)),
      )) {
        const kind = outcome === 'subscribed' ? outcome : (/^GALAXY_E_[A-Z_]+/.exec(outcome)?.[0] ?? outcome);
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      }
    }
    const after = await liveHeapBytes(pid, base);
    const growth = after - before;
    console.log(
      `subscribe loop of 2,000: ${JSON.stringify(Object.fromEntries(outcomes))}; master live heap ${(before / 1e6).toFixed(1)} MB → ${(after / 1e6).toFixed(1)} MB`,
    );
    // The default limit is 64 frameworks per principal, one of which was the warm-up.
    expect(outcomes.get('subscribed') ?? 0).toBeLessThanOrEqual(63);
    expect(outcomes.get('GALAXY_E_LIMIT_EXCEEDED') ?? 0).toBeGreaterThanOrEqual(1900);
    const bobs = (await listFrameworks(admin)).frameworks.filter((f) => f.info?.name.startsWith('loop-'));
    expect(bobs.length).toBeLessThanOrEqual(64);
    // 2,000 frameworks left on their failover timeout would hold about 7 MB; the cap keeps it under 4.
    expect(growth).toBeLessThan(4e6);
  });
});
