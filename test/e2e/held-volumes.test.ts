/**
 * A kept persistent volume's bytes are held for its framework while it has no container
 * (docs/disks.md, "Held volumes"), on a real cluster (master, an agent with a 64MiB ssd disk
 * running Linux containers, the AppMaster): the kv-store job A keeps a key on a 40MiB persistent
 * volume, so the disk has room for one such volume. A's container is replaced by an update that
 * needs more cpu than a hog job leaves: A waits with no container, its volume kept on the disk.
 *
 * The attack: during that gap job B asks for a 40MiB ssd volume, and the agent has cpu for it.
 * Without the hold the master offers B A's bytes: B is placed there and launched (the agent,
 * which sees A's image, refuses it until B's job gives up the host; had A's image been elsewhere,
 * A could never come back). With it B stays pending, its reason naming the medium; when the hog
 * goes, A comes back on its disk with its key; when A is removed (its volume destroyed), the hold
 * goes and B runs.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../core/paths.js';
import { createPackage } from '../../frameworks/appmaster/appworker/package.js';
import { startDeployCluster, type DeployCluster } from '../helpers/deploy-cluster.js';
import { eventually } from '../helpers/async-queue.js';
import { packagesVolume } from '../helpers/packages.js';

const A = 'volhold-a';
const B = 'volhold-b';
const HOG = 'volhold-hog';
let cluster: DeployCluster | undefined;
let packagesDir = '';
let kvPackage: { url: string; sha256: string };

function running(): DeployCluster {
  if (!cluster) throw new Error('the cluster did not start');
  return cluster;
}

/** The kv-store job A with `millicores` of cpu and its 40MiB persistent volume. */
function specA(millicores: number): string {
  return JSON.stringify({
    name: A,
    replicas: 1,
    ports: [{ name: 'http' }],
    resources: { cpu: { millicores }, memory: { hard: '128Mi' } },
    package: { source: kvPackage.url, version: '1.0.0', sha256: kvPackage.sha256 },
    volumes: [
      packagesVolume(packagesDir),
      { kind: 'disk', name: 'data', path: 'data', medium: 'ssd', size: '40Mi', persistent: true },
    ],
    commands: { start: 'exec node server.mjs' },
    health: { type: 'http', port: 'http', path: '/health', intervalS: 0.3, timeoutS: 1, graceS: 2, failures: 2 },
    deploy: { step: 1, intervalS: 0, stopTimeoutS: 2, maxFailures: 1, deployTimeoutS: 600 },
    failure: { backoffS: 1, maxBackoffS: 2, blacklistAfter: 5 },
  });
}

async function kv(port: number, key: string, value?: string): Promise<string | undefined> {
  const res = await fetch(
    `http://127.0.0.1:${port}/kv/${key}`,
    value === undefined ? {} : { method: 'PUT', body: value },
  );
  if (value !== undefined) return res.status === 204 ? 'stored' : `status ${res.status}`;
  return res.status === 200 ? res.text() : undefined;
}

async function images(): Promise<string[]> {
  const files = await readdir(join(running().workDir, 'disks', 'ssd1', '.galaxy-volumes')).catch(() => []);
  return files.filter((f) => f.endsWith('.img'));
}

beforeAll(async () => {
  const c = await startDeployCluster('volhold', '[27000-27099]', {
    disks: [{ name: 'ssd1', medium: 'ssd', size: '64MiB' }],
  });
  cluster = c;
  packagesDir = join(c.workDir, 'packages');
  kvPackage = await createPackage(join(packageRoot(), 'examples', 'kv-store'), join(packagesDir, 'kv.tar.gz'));
  await c.api.submitJob({ specJson: specA(100) });
}, 120_000);

afterAll(async () => {
  const left = cluster ? await cluster.stop() : [];
  expect(left).toEqual([]);
}, 60_000);

describe('a kept volume is held for its job while it has no container', { timeout: 240_000 }, () => {
  it('keeps another job off its bytes until the pod is back on its disk with its data', async () => {
    const c = running();
    const pod = (await c.settled(A, 1, 90_000)).pods[0];
    if (!pod) throw new Error('no pod');
    expect(await kv(pod.ports.http ?? 0, 'greeting', 'held for A')).toBe('stored');

    // The hog leaves 0.9 cpu: A's next container (1.5 cpu) waits, its volume kept on the disk.
    await c.api.submitJob({
      specJson: c.spec(HOG, '1.0.0', 1, { resources: { cpu: { millicores: 3000 }, memory: { hard: '128Mi' } } }),
    });
    await c.settled(HOG, 1, 90_000);
    await c.api.updateJob({ specJson: specA(1500) });
    await c.until(A, (job) => job.pods.every((p) => p.taskId === '' && p.phase === 'pending'), 'A with no container');
    expect(await images()).toHaveLength(1);

    // B fits the cpu; the disk's only free 40MiB are A's.
    await c.api.submitJob({
      specJson: c.spec(B, '1.0.0', 1, {
        volumes: [
          packagesVolume(packagesDir),
          { kind: 'disk', name: 'scratch', path: 'scratch', medium: 'ssd', size: '40Mi' },
        ],
      }),
    });
    const pendingB = await c.until(
      B,
      (job) => job.pending.some((r) => r.reason.includes('no ssd disk with 40MiB free')),
      'B pending for want of ssd room',
    );
    // Some offers later B is still pending, and nothing of B is on the disk.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const stillB = await c.api.showJob({ name: B });
    expect(stillB.pods.map((p) => p.taskId)).toEqual(['']);
    expect(pendingB.pending.map((r) => r.reason).join('; ')).toContain('ssd');
    expect(await images()).toHaveLength(1);
    // Operators see A's bytes as held and used, not free (galaxy disks, ListAgents).
    const [ssd] = c.master.view.agents().flatMap((a) => a.disks);
    expect(ssd).toMatchObject({ name: 'ssd1', held: 40 * 1024 * 1024, used: 40 * 1024 * 1024 });

    // The hog goes: A comes back to its disk, with its data.
    await c.api.removeJob({ name: HOG });
    const back = (await c.settled(A, 1, 90_000)).pods[0];
    expect(back?.agentId).toBe(pod.agentId);
    expect(await kv(back?.ports.http ?? 0, 'greeting')).toBe('held for A');
    expect((await c.api.showJob({ name: B })).pods.map((p) => p.taskId)).toEqual(['']);

    // A removed, its volume destroyed: the hold goes and B gets the disk.
    await c.api.removeJob({ name: A });
    await c.settled(B, 1, 90_000);
    expect(await images()).toHaveLength(1);
    await c.api.removeJob({ name: B });
    await eventually(async () => (await images()).length === 0, 30_000, 'the volumes deleted');
  });
});
