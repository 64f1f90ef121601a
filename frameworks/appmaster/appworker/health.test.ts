import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/helpers/async-queue.js';
import { HealthSchema } from '../spec/schema.js';
import { freePort } from './fake-appmaster.js';
import { HealthMonitor, probe, type Health, type HealthTarget } from './health.js';

let dir: string;
let http: HttpServer;
let httpPort: number;
let monitor: HealthMonitor | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-health-'));
  http = createHttpServer((req, res) => {
    if (req.url === '/health') res.writeHead(200).end('ok');
    else if (req.url === '/moved') res.writeHead(302, { location: '/health' }).end();
    else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('late'), 2000);
    else res.writeHead(500).end('no');
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  httpPort = (http.address() as AddressInfo).port;
});

afterEach(async () => {
  monitor?.stop();
  monitor = undefined;
  http.closeAllConnections();
  await new Promise((ok) => http.close(ok));
  await rm(dir, { recursive: true, force: true });
});

function target(ports: Record<string, number> = {}): HealthTarget {
  return { ports, cwd: dir, env: { ...process.env, HEALTH_DIR: dir } };
}

describe('probe', () => {
  it('http passes on 2xx and 3xx and fails on 5xx, timeouts and unassigned ports', async () => {
    const t = target({ http: httpPort });
    const check = (path: string, timeoutS = 1): Promise<boolean> =>
      probe(HealthSchema.parse({ type: 'http', port: 'http', path, timeoutS }), t);
    expect(await check('/health')).toBe(true);
    expect(await check('/moved')).toBe(true);
    expect(await check('/broken')).toBe(false);
    expect(await check('/slow', 0.2)).toBe(false);
    expect(await probe(HealthSchema.parse({ type: 'http', port: 'other' }), t)).toBe(false);
  });

  it('tcp passes when something listens and fails when nothing does', async () => {
    const spec = HealthSchema.parse({ type: 'tcp', port: 'p' });
    expect(await probe(spec, target({ p: httpPort }))).toBe(true);
    expect(await probe(spec, target({ p: await freePort() }))).toBe(false);
  });

  it('command passes on exit 0, in the release directory with its environment', async () => {
    const check = (command: string, timeoutS = 1): Promise<boolean> =>
      probe(HealthSchema.parse({ type: 'command', command, timeoutS }), target());
    expect(await check('test "$(pwd)" = "$HEALTH_DIR"')).toBe(true);
    expect(await check('exit 1')).toBe(false);
    const began = Date.now();
    expect(await check('sleep 5', 0.2)).toBe(false);
    expect(Date.now() - began).toBeLessThan(2000);
  });
});

describe('HealthMonitor', () => {
  it('without a check, is healthy while the process runs and unknown after', () => {
    const changes: Health[] = [];
    monitor = new HealthMonitor(undefined, target(), (h) => changes.push(h));
    expect(monitor.health).toBe('unknown');
    monitor.start();
    expect(monitor.health).toBe('healthy');
    monitor.stop();
    expect(changes).toEqual(['healthy', 'unknown']);
  });

  it('ignores failures inside the grace period, then turns unhealthy', async () => {
    const spec = HealthSchema.parse({ type: 'command', command: 'exit 1', intervalS: 0.05, graceS: 0.5, failures: 1 });
    monitor = new HealthMonitor(spec, target());
    const began = Date.now();
    monitor.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(monitor.health).toBe('unknown');
    await eventually(() => monitor?.health === 'unhealthy', 5000);
    expect(Date.now() - began).toBeGreaterThanOrEqual(500);
  });

  it('needs `failures` consecutive failures to turn unhealthy and one pass to recover', async () => {
    const passFlag = join(dir, 'pass');
    const attempts = join(dir, 'attempts');
    const command = `echo x >> "${attempts}"; test -e "${passFlag}"`;
    const spec = HealthSchema.parse({ type: 'command', command, intervalS: 0.05, graceS: 0, failures: 4 });
    const changes: Health[] = [];
    monitor = new HealthMonitor(spec, target(), (h) => changes.push(h));
    monitor.start();
    await eventually(() => monitor?.health === 'unhealthy', 5000);
    const tries = (await readFile(attempts, 'utf8')).trim().split('\n').length;
    expect(tries).toBeGreaterThanOrEqual(4);
    expect(tries).toBeLessThanOrEqual(5);
    await writeFile(passFlag, '');
    await eventually(() => monitor?.health === 'healthy', 5000);
    expect(changes).toEqual(['unhealthy', 'healthy']);
  });

  it('starts over at unknown on each start, and stays unknown once stopped', async () => {
    const log = join(dir, 'log');
    const spec = HealthSchema.parse({
      type: 'command',
      command: `echo x >> "${log}"`,
      intervalS: 0.05,
      graceS: 0,
    });
    monitor = new HealthMonitor(spec, target());
    monitor.start();
    await eventually(() => monitor?.health === 'healthy', 5000);
    monitor.start();
    expect(monitor.health).toBe('unknown');
    await eventually(() => monitor?.health === 'healthy', 5000);
    monitor.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(monitor.health).toBe('unknown');
  });
});
