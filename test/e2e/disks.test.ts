/**
 * A stateful service keeping its data on a persistent disk volume (docs/disks.md), on a real
 * cluster (master, an agent with a named ssd disk running Linux containers, the AppMaster with
 * real AppWorkers): the kv-store example writes a key; its pod's container is replaced, and then
 * its agent is stopped (as SIGTERM stops it: the containers go) and started again; each time the
 * pod comes back to the same agent and disk and the key is there. The volume is a loop-mounted
 * image on the disk, mounted only while a container has it, and deleted with its job.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../core/paths.js';
import { createPackage } from '../../frameworks/appmaster/appworker/package.js';
import { mountsUnder } from '../../isolators/disk/loop-image.js';
import { startDeployCluster, type DeployCluster } from '../helpers/deploy-cluster.js';
import { eventually } from '../helpers/async-queue.js';
import { packagesVolume } from '../helpers/packages.js';

const NAME = 'kv-disks';
let cluster: DeployCluster | undefined;
let specJson: string;

async function kv(port: number, key: string, value?: string): Promise<string | undefined> {
  const res = await fetch(
    `http://127.0.0.1:${port}/kv/${key}`,
    value === undefined ? {} : { method: 'PUT', body: value },
  );
  if (value !== undefined) return res.status === 204 ? 'stored' : `status ${res.status}`;
  return res.status === 200 ? res.text() : undefined;
}

async function runningPod() {
  const job = await running().settled(NAME, 1, 90_000);
  const pod = job.pods[0];
  if (!pod) throw new Error('no pod');
  return pod;
}

beforeAll(async () => {
  const c = await startDeployCluster('disks', '[25000-25099]', {
    disks: [{ name: 'ssd1', medium: 'ssd', size: '256MiB' }],
  });
  cluster = c;
  const packagesDir = join(c.workDir, 'packages');
  const pkg = await createPackage(join(packageRoot(), 'examples', 'kv-store'), join(packagesDir, 'kv.tar.gz'));
  specJson = JSON.stringify({
    name: NAME,
    replicas: 1,
    ports: [{ name: 'http' }],
    resources: { cpu: { millicores: 100 }, memory: { hard: '128Mi' } },
    package: { source: pkg.url, version: '1.0.0', sha256: pkg.sha256 },
    volumes: [
      packagesVolume(packagesDir),
      { kind: 'disk', name: 'data', path: 'data', medium: 'ssd', size: '32Mi', persistent: true },
    ],
    commands: { start: 'exec node server.mjs' },
    health: { type: 'http', port: 'http', path: '/health', intervalS: 0.3, timeoutS: 1, graceS: 5, failures: 2 },
    deploy: { step: 1, intervalS: 0, stopTimeoutS: 2, maxFailures: 1, deployTimeoutS: 60 },
    // The volume pins the pod to the one agent: failed starts while that agent restarts on a
    // loaded machine must not blacklist the only host it can go to (a full run once did, at 5).
    failure: { backoffS: 1, maxBackoffS: 2, blacklistAfter: 20 },
  });
  await c.api.submitJob({ specJson });
}, 120_000);

afterAll(async () => {
  const left = cluster ? await cluster.stop() : [];
  expect(left).toEqual([]);
}, 60_000);

function running(): DeployCluster {
  if (!cluster) throw new Error('the cluster did not start');
  return cluster;
}

describe('a stateful service on a persistent disk volume', { timeout: 150_000 }, () => {
  it('keeps its data through a container replacement', async () => {
    const pod = await runningPod();
    expect(await kv(pod.ports.http ?? 0, 'greeting', 'hello disks')).toBe('stored');
    const images = await readdir(join(running().workDir, 'disks', 'ssd1', '.galaxy-volumes'));
    expect(images.filter((f) => f.endsWith('.img'))).toHaveLength(1);

    await running().api.recoverPod({ name: NAME, podId: pod.podId });
    const again = await eventually(
      async () => {
        const p = await runningPod();
        return p.taskId !== pod.taskId && p;
      },
      90_000,
      'a new container for the pod',
    );
    expect(again.agentId).toBe(pod.agentId);
    expect(await kv(again.ports.http ?? 0, 'greeting')).toBe('hello disks');
  });

  it('keeps its data through an agent restart', async () => {
    const pod = await runningPod();
    expect(await kv(pod.ports.http ?? 0, 'second', 'still here')).toBe('stored');
    await running().restartAgent();
    const again = await eventually(
      async () => {
        const p = await runningPod();
        return p.taskId !== pod.taskId && p;
      },
      90_000,
      'the pod back after the agent restart',
    );
    expect(await kv(again.ports.http ?? 0, 'second')).toBe('still here');
    expect(await kv(again.ports.http ?? 0, 'greeting')).toBe('hello disks');
    // Mounted once: the running container's volume, nothing left of the earlier ones.
    expect(await mountsUnder(join(running().workDir, 'agent', 'volumes'))).toHaveLength(1);
  });

  it('deletes the volume with its job', async () => {
    await running().api.removeJob({ name: NAME });
    const dir = join(running().workDir, 'disks', 'ssd1', '.galaxy-volumes');
    await eventually(async () => (await readdir(dir)).length === 0, 30_000, 'the volume deleted');
    expect(await mountsUnder(join(running().workDir, 'agent', 'volumes'))).toEqual([]);
  });
});
