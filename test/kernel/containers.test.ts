/**
 * Real containers on the real kernel (cgroup v1, namespaces; tests run as root): each limit is
 * checked for its effect and for the reason the task reports. Afterwards nothing of the agent's
 * is left: no cgroup, no process.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { Limits, TaskState, Volume, Volume_Kind, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { galaxy } from '../helpers/processes.js';

const MiB = 1024 ** 2;
const driver = detectCgroupDriver();
let cluster: KernelCluster;

beforeAll(async () => {
  cluster = await startKernelCluster({
    name: 'kernel',
    resources: 'cpus:2;mem:2GiB',
    isolation: 'cpu,memory,pids,blkio,disk,volumes',
  });
});

afterAll(async () => {
  // Nothing of the agent's survives it.
  expect(await cluster.stop()).toEqual([]);
});

/** Launches `shell` with these resources and limits. */
function launch(shell: string, cpus: number, mem: number, limits: Partial<Limits> = {}, disk = 0): Promise<string> {
  return cluster.launch({
    shell,
    resources: { cpus, mem, disk, gpus: 0, ports: [] },
    limits: Limits.fromPartial(limits),
  });
}
const until = (taskId: string, states: TaskState[], timeoutMs?: number): Promise<TaskStatus> =>
  cluster.until(taskId, states, timeoutMs);
const kill = (taskId: string): Promise<TaskStatus> => cluster.kill(taskId);
const sandboxOf = (taskId: string): Promise<string> => cluster.sandboxOf(taskId);
const usage = async (taskId: string) => cluster.agent.usage(await cluster.fw.frameworkId, taskId);

describe('Linux containers', () => {
  it('kills a memory hog at its limit and reports memory-limit', { timeout: 90_000 }, async () => {
    // tail holds the last line in memory: /dev/zero has no newline, so it grows without bound.
    const id = await launch('head -c 512M /dev/zero | tail >/dev/null', 100, 64 * MiB);
    // Usually about a second; reclaim before the OOM kill can take longer on a loaded machine.
    const status = await until(id, [TaskState.TASK_FAILED, TaskState.TASK_FINISHED], 60_000);
    expect(status.state).toBe(TaskState.TASK_FAILED);
    expect(status.reason).toBe('memory-limit');
    expect(status.message).toContain('64MiB');
  });

  it('holds a busy loop with a 0.5-core hard limit to 0.5 ± 0.1 core', async () => {
    const id = await launch('while :; do :; done', 500, 32 * MiB);
    await until(id, [TaskState.TASK_RUNNING]);
    await new Promise((r) => setTimeout(r, 300));
    const before = await usage(id);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2500));
    const after = await usage(id);
    const cores = ((after.cpuSeconds ?? 0) - (before.cpuSeconds ?? 0)) / ((Date.now() - t0) / 1000);
    expect(cores).toBeGreaterThan(0.4);
    expect(cores).toBeLessThan(0.6);
    expect(after.cpuThrottledSeconds ?? 0).toBeGreaterThan(0); // the quota, not idleness, held it back
    // The same figures reach operators: master → agent → isolators, and `galaxy tasks --usage`.
    const cli = galaxy(['tasks', '--usage', '-o', 'json', '--master', cluster.master.address]);
    expect(await cli.exited).toBe(0);
    const listed = JSON.parse(cli.lines.items.join('\n')) as {
      taskId: string;
      usage: { cpuSeconds: number; memBytes: number };
    }[];
    const mine = listed.find((t) => t.taskId === id);
    expect(mine?.usage.cpuSeconds).toBeGreaterThan(1);
    expect(mine?.usage.memBytes).toBeGreaterThan(0);
    expect((await kill(id)).state).toBe(TaskState.TASK_KILLED);
  });

  it('stops a fork bomb at pids.max', async () => {
    // bash (unlike dash) survives a failed fork and keeps trying: a proper bomb.
    const id = await launch('exec bash -c "for i in \\$(seq 200); do sleep 30 & done; wait"', 100, 128 * MiB, {
      pidsMax: 24,
    });
    await until(id, [TaskState.TASK_RUNNING]);
    try {
      // At 0.1 core the bomb forks slowly; wait until it has run into the limit.
      const stats = await eventually(
        async () => {
          const u = await usage(id);
          return (u.pidsLimitHits ?? 0) > 0 && u;
        },
        15_000,
        'the bomb to hit pids.max',
      );
      expect(stats.pids).toBeLessThanOrEqual(24);
      expect(stats.pids).toBeGreaterThan(10);
    } finally {
      expect((await kill(id)).state).toBe(TaskState.TASK_KILLED);
    }
  });

  it("keeps containers from seeing each other's processes", async () => {
    const hidden = await launch('exec sleep 30', 100, 32 * MiB);
    await until(hidden, [TaskState.TASK_RUNNING]);
    const looker = await launch(
      'echo "me=$$"; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done',
      100,
      32 * MiB,
    );
    await until(looker, [TaskState.TASK_FINISHED]);
    const sandbox = await sandboxOf(looker);
    const seen = await readFile(join(sandbox, 'stdout'), 'utf8');
    expect(seen).toMatch(/^me=2$/m); // Galaxy's init is pid 1 of the namespace; the task is its first child
    expect(seen).not.toContain('sleep 30');
    expect((await kill(hidden)).state).toBe(TaskState.TASK_KILLED);
  });

  it('runs as pid 1 behind an init that passes SIGTERM on, so a kill is quick and graceful', async () => {
    // A 10 s grace: SIGKILL would come only after it, so ending well before means SIGTERM did it.
    const id = await cluster.launch({
      shell: "trap 'echo got-term; exit 0' TERM; while :; do sleep 0.1; done",
      resources: { cpus: 100, mem: 32 * MiB, disk: 0, gpus: 0, ports: [] },
      killGraceS: 10,
    });
    await until(id, [TaskState.TASK_RUNNING]);
    // RUNNING means started, not that the shell has read its `trap` line yet: give it a moment,
    // as a service has before anyone stops it.
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    const status = await kill(id);
    expect(status.state).toBe(TaskState.TASK_KILLED);
    expect(Date.now() - t0).toBeLessThan(5000);
    // The task's own trap ran: SIGTERM reached it (not a SIGKILL, not lost at its exec). Output
    // comes back from the sandbox's own filesystem once the container is gone.
    const sandbox = await sandboxOf(id);
    const stdout = await eventually(
      async () => {
        const text = await readFile(join(sandbox, 'stdout'), 'utf8').catch(() => '');
        return text.includes('got-term') && text;
      },
      5000,
      'the trap output back in the sandbox',
    );
    expect(stdout).toContain('got-term');
  });

  it('stops a disk filler at its quota (a loop-mounted filesystem of that size), keeping its output', async () => {
    const id = await launch('dd if=/dev/zero of=fill bs=1M count=64; exit 1', 100, 64 * MiB, {}, 16 * MiB);
    const status = await until(id, [TaskState.TASK_FAILED, TaskState.TASK_FINISHED]);
    expect(status.state).toBe(TaskState.TASK_FAILED);
    const sandbox = await sandboxOf(id);
    const stderr = await eventually(
      async () => {
        const text = await readFile(join(sandbox, 'stderr'), 'utf8').catch(() => '');
        return text.includes('copied') && text;
      },
      5000,
      'the output back in the sandbox',
    );
    expect(stderr).toContain('No space left on device');
    const written = Number(/(\d+) bytes .*copied/.exec(stderr)?.[1] ?? Number.NaN);
    expect(written).toBeLessThanOrEqual(16 * MiB);
    expect(written).toBeGreaterThan(8 * MiB); // it did get most of its quota
  });

  it('holds a direct-I/O writer to its write bandwidth throttle ± 15 %', async () => {
    const bps = 8 * MiB;
    const id = await launch('dd if=/dev/zero of=out bs=1M count=24 oflag=direct; rm -f out', 100, 64 * MiB, {
      writeBps: bps,
    });
    await until(id, [TaskState.TASK_FINISHED], 30_000);
    const sandbox = await sandboxOf(id);
    const stderr = await readFile(join(sandbox, 'stderr'), 'utf8');
    const match = /(\d+) bytes .* copied, ([\d.]+) s/.exec(stderr);
    const rate = Number(match?.[1]) / Number(match?.[2]);
    expect(rate).toBeGreaterThan(bps * 0.85);
    expect(rate).toBeLessThan(bps * 1.15);
  });

  it('runs the task as the user it names, with its GALAXY_* environment', async () => {
    const taskId = await cluster.launch({
      shell: 'echo "uid=$(id -u) task=$GALAXY_TASK_ID sandbox=$GALAXY_SANDBOX" | tee own-file',
      user: 'nobody',
    });
    await until(taskId, [TaskState.TASK_FINISHED]);
    const sandbox = await sandboxOf(taskId);
    expect(await readFile(join(sandbox, 'stdout'), 'utf8')).toBe(`uid=65534 task=${taskId} sandbox=${sandbox}\n`);
  });

  it('mounts a sized tmpfs volume and a read-only bind volume into the sandbox', async () => {
    // Under the agent's --allowed-host-paths (the harness's shared directory).
    const host = await mkdtemp(join(cluster.shared, 'bind-'));
    // The container's root is an unprivileged host uid: it reads what any user may read.
    await chmod(host, 0o755);
    await writeFile(join(host, 'hello'), 'from the host\n');
    try {
      const taskId = await cluster.launch({
        shell:
          'cat in/hello; touch in/nope 2>/dev/null && echo wrote-ro; dd if=/dev/zero of=scratch/fill bs=1M count=8 2>/dev/null; du -k scratch/fill | cut -f1',
        resources: { cpus: 100, mem: 64 * MiB, disk: 0, gpus: 0, ports: [] },
        volumes: [
          Volume.fromPartial({ kind: Volume_Kind.TMPFS, path: 'scratch', sizeBytes: 4 * MiB }),
          Volume.fromPartial({ kind: Volume_Kind.BIND, path: 'in', hostPath: host, readOnly: true }),
        ],
      });
      await until(taskId, [TaskState.TASK_FINISHED]);
      const out = await readFile(join(await sandboxOf(taskId), 'stdout'), 'utf8');
      const [hello, size] = out.trim().split('\n');
      expect(hello).toBe('from the host');
      expect(out).not.toContain('wrote-ro');
      expect(Number(size)).toBeLessThanOrEqual(4096); // KiB: the tmpfs stopped it at 4 MiB
      expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(await sandboxOf(taskId));
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  it("removes each container's cgroups once it ends", async () => {
    await eventually(
      async () => (await driver.children(cluster.cgroupRoot)).length === 0,
      5000,
      `no containers left under the root (${(await driver.children(cluster.cgroupRoot)).join(', ')})`,
    );
  });
});
