/**
 * Attack: a framework destroys another framework's persistent disk volume by naming its key
 * (docs/disks.md, "Persistent volumes"). The agent keys volumes by the framework id the master
 * stamps, so the call reaches only the caller's own (absent) volume: the victim's data stays.
 * The owner's own destroy, through the same path, does delete it (so the check is not vacuous).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume, Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { rawFramework } from '../helpers/raw-clients.js';
import { eventually } from '../helpers/async-queue.js';

const MiB = 1024 * 1024;
let disks: string;
let kc: KernelCluster | undefined;

beforeAll(async () => {
  disks = await mkdtemp(join(tmpdir(), 'galaxy-dv-attack-'));
  await mkdir(join(disks, 'ssd1'));
  kc = await startKernelCluster({
    name: 'dvattack',
    isolation: 'memory',
    resources: 'cpus:2;mem:1GiB;disk:1GiB;ports:[25400-25410]',
    disks: `ssd1:${join(disks, 'ssd1')}:ssd:256MiB`,
  });
}, 60_000);

afterAll(async () => {
  const left = kc ? await kc.stop() : [];
  await rm(disks, { recursive: true, force: true });
  expect(left).toEqual([]);
});

const images = async () =>
  (await readdir(join(disks, 'ssd1', '.galaxy-volumes')).catch(() => [] as string[])).filter((f) => f.endsWith('.img'));

describe("another framework's persistent volume", () => {
  it('cannot be destroyed by naming its key; its owner can', async () => {
    if (!kc) throw new Error('no cluster');
    const volume = Volume.fromPartial({
      kind: Volume_Kind.DISK,
      path: 'data',
      sizeBytes: 32 * MiB,
      diskName: 'ssd1',
      diskMedium: 'ssd',
      diskPersistent: true,
      diskVolumeId: 'kv-0/data',
    });
    const taskId = await kc.launch({
      shell: 'echo secret > data/s',
      volumes: [volume],
      resources: {
        cpus: 100,
        mem: 32 * MiB,
        disk: 32 * MiB,
        gpus: 0,
        ports: [],
        namedDisks: { disks: [{ name: 'ssd1', medium: 'ssd', size: 32 * MiB, capacity: 256 * MiB, exclusive: false }] },
      },
    });
    const done = await kc.until(taskId, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED]);
    expect(done.state).toBe(TaskState.TASK_FINISHED);
    const agentId = done.agentId;
    expect(await images()).toHaveLength(1);

    const attacker = rawFramework(kc.master.address, { name: 'attacker' }, true);
    try {
      await attacker.frameworkId;
      await attacker.call({
        call: { $case: 'disksDestroyVolume', disksDestroyVolume: { agentId, volumeId: 'kv-0/data' } },
      });
      // The agent handles the message within a moment; give it one, then the volume must be there.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await images()).toHaveLength(1);
    } finally {
      attacker.close();
    }

    await kc.fw.call({
      call: { $case: 'disksDestroyVolume', disksDestroyVolume: { agentId, volumeId: 'kv-0/data' } },
    });
    await eventually(async () => (await images()).length === 0, 10_000, "the owner's destroy");
    expect(existsSync(join(disks, 'ssd1', '.galaxy-volumes'))).toBe(true);
  });
});
