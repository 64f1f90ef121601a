/**
 * What operators see of named disks (docs/disks.md, "Seeing the disks"), through the real gRPC
 * Operator API and the built CLI: a master and an agent with two `--disks` in this process; a task
 * whose disk volume (a real loop-mounted image) takes part of the ssd shows as used on that disk
 * and in the ssd total, and its bytes come back as free when the task is killed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskState, Volume, Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';
import type { AgentDisk, ListAgentsResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { operatorClient, type Operator } from '../../cli/operator-client.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { eventually } from '../helpers/async-queue.js';
import { runCli } from '../helpers/cli.js';

const MiB = 1024 * 1024;
let disks: string;
let kc: KernelCluster | undefined;
let op: Operator | undefined;

beforeAll(async () => {
  disks = await mkdtemp(join(tmpdir(), 'galaxy-disklist-'));
  await mkdir(join(disks, 'ssd1'));
  await mkdir(join(disks, 'hdd1'));
  kc = await startKernelCluster({
    name: 'disklist',
    isolation: 'memory',
    resources: 'cpus:2;mem:1GiB;disk:1GiB;ports:[27400-27410]',
    disks: `ssd1:${join(disks, 'ssd1')}:ssd:256MiB,hdd1:${join(disks, 'hdd1')}:hdd:128MiB`,
  });
  op = operatorClient(kc.master.address);
}, 60_000);

afterAll(async () => {
  op?.close();
  const left = kc ? await kc.stop() : [];
  await rm(disks, { recursive: true, force: true });
  expect(left).toEqual([]);
});

function cluster(): { kc: KernelCluster; op: Operator } {
  if (!kc || !op) throw new Error('the cluster did not start');
  return { kc, op };
}

/** The ssd1 and hdd1 rows of the only agent, without `offered` (it follows the allocator's cycle). */
function disksOf(response: ListAgentsResponse): Omit<AgentDisk, 'offered'>[] {
  expect(response.agents).toHaveLength(1);
  return (response.agents[0]?.disks ?? []).map(({ offered, ...rest }) => {
    expect(offered).toBeLessThanOrEqual(rest.free);
    return rest;
  });
}

describe('the disks operators see', { timeout: 60_000 }, () => {
  it('lists each disk of the agent, all free, and the totals per medium', async () => {
    const { op } = cluster();
    const listing = await op.listAgents({});
    expect(disksOf(listing)).toEqual([
      { name: 'hdd1', medium: 'hdd', capacity: 128 * MiB, used: 0, free: 128 * MiB, held: 0 },
      { name: 'ssd1', medium: 'ssd', capacity: 256 * MiB, used: 0, free: 256 * MiB, held: 0 },
    ]);
    expect(listing.media.map((m) => [m.medium, m.disks, m.capacity, m.used, m.free])).toEqual([
      ['ssd', 1, 256 * MiB, 0, 256 * MiB],
      ['hdd', 1, 128 * MiB, 0, 128 * MiB],
    ]);
  });

  it('counts a running volume as used on its disk, and frees it when its task ends', async () => {
    const { kc, op } = cluster();
    const taskId = await kc.launch({
      shell: 'sleep 300',
      volumes: [
        Volume.fromPartial({
          kind: Volume_Kind.DISK,
          path: 'data',
          sizeBytes: 48 * MiB,
          diskName: 'ssd1',
          diskMedium: 'ssd',
        }),
      ],
      resources: {
        cpus: 100,
        mem: 32 * MiB,
        disk: 48 * MiB,
        gpus: 0,
        ports: [],
        namedDisks: { disks: [{ name: 'ssd1', medium: 'ssd', size: 48 * MiB, capacity: 256 * MiB, exclusive: false }] },
      },
    });
    await kc.until(taskId, [TaskState.TASK_RUNNING]);
    const listing = await op.listAgents({});
    expect(disksOf(listing)).toEqual([
      { name: 'hdd1', medium: 'hdd', capacity: 128 * MiB, used: 0, free: 128 * MiB, held: 0 },
      { name: 'ssd1', medium: 'ssd', capacity: 256 * MiB, used: 48 * MiB, free: 208 * MiB, held: 0 },
    ]);
    expect(listing.media.find((m) => m.medium === 'ssd')).toMatchObject({ used: 48 * MiB, free: 208 * MiB });

    // The CLI over the same API: the compact cell of `galaxy agents`, one row per disk in `galaxy disks`.
    const agents = await runCli(['agents', '-m', kc.master.address]);
    expect(agents.stderr).toBe('');
    expect(agents.stdout).toMatch(/ssd 48\/256MiB, hdd 0\/128MiB/);
    const shown = await runCli(['disks', '-m', kc.master.address]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/\bssd1\s+ssd\s+256MiB\s+48MiB\s+208MiB\b/);
    expect(shown.stdout).toMatch(/\bhdd1\s+hdd\s+128MiB\s+0B\s+128MiB\b/);
    expect(shown.stdout).toMatch(/^\s*ssd\s+1\s+256MiB\s+48MiB\s+208MiB\s*$/m);
    const unknown = await runCli(['disks', 'no-such-agent', '-m', kc.master.address]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/GALAXY_E_AGENT_UNKNOWN/);

    await kc.kill(taskId);
    await eventually(
      async () => disksOf(await op.listAgents({})).find((d) => d.name === 'ssd1')?.used === 0,
      10_000,
      'ssd1 to be free again',
    );
    expect(disksOf(await op.listAgents({}))).toContainEqual({
      name: 'ssd1',
      medium: 'ssd',
      capacity: 256 * MiB,
      used: 0,
      free: 256 * MiB,
      held: 0,
    });
  });
});
