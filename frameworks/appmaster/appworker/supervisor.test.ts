import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/helpers/async-queue.js';
import { isAlive, killWithEnv } from '../../../test/helpers/processes.js';
import { Supervisor, type ServiceCommand, type SupervisorEvent } from './supervisor.js';

let dir: string;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-supervisor-'));
});

afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
  killWithEnv(`GALAXY_SANDBOX=${dir}`);
  await rm(dir, { recursive: true, force: true });
});

function command(start: string, extra: Partial<ServiceCommand> = {}): ServiceCommand {
  return {
    start,
    cwd: dir,
    env: { ...process.env, GALAXY_SANDBOX: dir },
    logDir: join(dir, 'logs'),
    stopTimeoutMs: 5000,
    backoffMs: 100,
    maxBackoffMs: 400,
    ...extra,
  };
}

describe('Supervisor', () => {
  it('runs the start command in its directory, appending output to the service logs', async () => {
    supervisor = new Supervisor(command('echo "out in $(pwd)"; echo oops >&2; exec sleep 30'));
    supervisor.start();
    expect(supervisor.phase).toBe('running');
    const pid = supervisor.pid ?? 0;
    expect(isAlive(pid)).toBe(true);
    await eventually(async () => (await readFile(join(dir, 'logs', 'service.stderr'), 'utf8')) === 'oops\n');
    expect(await readFile(join(dir, 'logs', 'service.stdout'), 'utf8')).toBe(`out in ${dir}\n`);
    await supervisor.stop();
    expect(supervisor.phase).toBe('stopped');
    expect(supervisor.lastExitCode).toBe(128 + 15);
    expect(isAlive(pid)).toBe(false);
  });

  it('SIGKILLs a process group that ignores SIGTERM once the stop timeout passes', async () => {
    supervisor = new Supervisor(
      command('trap "" TERM; echo ready; while true; do sleep 0.05; done', { stopTimeoutMs: 600 }),
    );
    supervisor.start();
    const pid = supervisor.pid ?? 0;
    await eventually(async () => (await readFile(join(dir, 'logs', 'service.stdout'), 'utf8')).includes('ready'));
    const began = Date.now();
    await supervisor.stop();
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3000);
    expect(supervisor.lastExitCode).toBe(128 + 9);
    expect(isAlive(pid)).toBe(false);
  });

  it('runs the stop command first, in the release directory', async () => {
    supervisor = new Supervisor(
      command('echo $$ > service.pid; exec sleep 30', {
        stop: 'echo "$GALAXY_SANDBOX" > stop-ran; kill -TERM $(cat service.pid)',
      }),
    );
    supervisor.start();
    await eventually(() => existsSync(join(dir, 'service.pid')));
    await supervisor.stop();
    expect(await readFile(join(dir, 'stop-ran'), 'utf8')).toBe(`${dir}\n`);
    expect(supervisor.phase).toBe('stopped');
    expect(supervisor.lastExitCode).toBe(128 + 15);
  });

  it('restarts a crashed process with doubling backoff, reporting phase delayed', async () => {
    const seen: { event: SupervisorEvent; phase: string; delayMs: number; exitCode: number }[] = [];
    supervisor = new Supervisor(command('exit 3'), (event) => {
      const s = supervisor;
      if (s) seen.push({ event, phase: s.phase, delayMs: s.delayedUntil - Date.now(), exitCode: s.lastExitCode });
    });
    supervisor.start();
    await eventually(() => supervisor && supervisor.restarts >= 4, 10_000, 'four restarts');
    await supervisor.stop();
    const delays = seen.filter((s) => s.event === 'delayed');
    expect(delays.every((d) => d.phase === 'delayed')).toBe(true);
    const rounded = delays.slice(0, 4).map((d) => Math.round(d.delayMs / 100) * 100);
    expect(rounded).toEqual([100, 200, 400, 400]);
    expect(delays.every((d) => d.exitCode === 3)).toBe(true);
    expect(supervisor.phase).toBe('stopped');
    expect(supervisor.delayedUntil).toBe(0);
  });

  it('resets the backoff after a run that lasted the stable time', async () => {
    const delays: number[] = [];
    supervisor = new Supervisor(command('sleep 0.2; exit 1', { stableMs: 100, backoffMs: 50 }), (event) => {
      if (event === 'delayed' && supervisor) delays.push(supervisor.delayedUntil - Date.now());
    });
    supervisor.start();
    await eventually(() => delays.length >= 3, 10_000, 'three crashes');
    await supervisor.stop();
    expect(delays.slice(0, 3).map((d) => Math.round(d / 50) * 50)).toEqual([50, 50, 50]);
  });

  it('cancels a pending restart on stop', async () => {
    supervisor = new Supervisor(command('exit 1', { backoffMs: 60_000, maxBackoffMs: 60_000 }));
    supervisor.start();
    await eventually(() => supervisor?.phase === 'delayed');
    expect(supervisor.delayedUntil).toBeGreaterThan(Date.now() + 50_000);
    await supervisor.stop();
    expect(supervisor.phase).toBe('stopped');
    expect(supervisor.restarts).toBe(0);
  });
});
