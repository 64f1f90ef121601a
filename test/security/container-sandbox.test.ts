/**
 * Attacks from inside a real container (docs/security.md, Part 2): a task of a real agent, on the
 * real kernel, tries to leave its sandbox. Each test is one rule; each would fail without it.
 *
 * - it is not root on the host: its processes' host uids (from the host's /proc) are a block of
 *   its own, not 0, and two containers never share one;
 * - it sees nothing of the host: not /root, not the agent's work dir (nor its checkpoints), not
 *   another container's sandbox, not a coordinator's directory;
 * - `mount` and writes to /proc/sys fail; its capabilities are Docker's default set; no_new_privs;
 * - two containers cannot see or signal each other;
 * - its environment never reaches the part of its start that runs as root on the host;
 * - a bind volume of `/` is refused at ACCEPT, and one that reaches the agent's work dir through a
 *   symlink under an allowed path is refused by the agent: clear errors, nothing launched, nothing
 *   left (no cgroup, no uid claim);
 * - checkpoints are mode 0600 in 0700 directories.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UID_CLAIMS_DIR } from '../../agent/containerizer/uid-blocks.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { TaskState, Volume, Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { isAlive, processesWithEnv } from '../helpers/processes.js';

let cluster: KernelCluster;
/** Things of the host a container must not see. */
let coordDir = '';
const rootProbe = `/root/galaxy-sandbox-probe-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  cluster = await startKernelCluster({
    name: 'sandbox',
    resources: 'cpus:2;mem:2GiB;disk:1GiB',
    isolation: 'cpu,memory,pids,disk',
  });
  coordDir = await mkdtemp(join(tmpdir(), 'galaxy-sandbox-coord-'));
  const coordinator = await openCoordinator(`local:${coordDir}`);
  await coordinator.put('/galaxy/users/mallory', JSON.stringify({ admin: false }));
  await coordinator.close();
  await writeFile(rootProbe, 'root-secret\n');
});

afterAll(async () => {
  await rm(rootProbe, { force: true });
  await rm(coordDir, { recursive: true, force: true });
  expect(await cluster.stop()).toEqual([]);
});

/** Runs `shell` to its end in a container; returns its stdout and stderr. */
async function run(shell: string): Promise<{ stdout: string; stderr: string; status: TaskStateName }> {
  const id = await cluster.launch({ shell });
  const status = await cluster.until(id, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED, TaskState.TASK_ERROR]);
  const sandbox = await cluster.sandboxOf(id);
  const read = (file: string) => readFile(join(sandbox, file), 'utf8').catch(() => '');
  return {
    stdout: await read('stdout'),
    stderr: await read('stderr'),
    status: TaskState[status.state] as TaskStateName,
  };
}
type TaskStateName = keyof typeof TaskState;

/** Starts `exec sleep 60` in a container; returns the task id and the host pid of the sleep. */
async function sleeper(): Promise<{ id: string; pid: number }> {
  const id = await cluster.launch({ shell: 'exec sleep 60' });
  await cluster.until(id, [TaskState.TASK_RUNNING]);
  const pid = await eventually(
    () => processesWithEnv(`GALAXY_TASK_ID=${id}`).find((p) => readCmdline(p) === 'sleep 60'),
    5000,
    `the sleep of ${id}`,
  );
  return { id, pid };
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** The real, effective, saved and fs uids of `pid`, from the host's /proc. */
function hostUids(pid: number): number[] {
  const line = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).map(Number);
}

function claims(): string[] {
  return existsSync(UID_CLAIMS_DIR) ? readdirSync(UID_CLAIMS_DIR) : [];
}

describe('a container is a sandbox', () => {
  it("runs as an unprivileged host uid block of its own: not root, not another container's", async () => {
    const [a, b] = [await sleeper(), await sleeper()];
    const [uidA, uidB] = [hostUids(a.pid), hostUids(b.pid)];
    for (const uids of [uidA, uidB]) {
      expect(new Set(uids).size).toBe(1); // real, effective, saved, fs: all the same
      expect(uids[0]).toBeGreaterThanOrEqual(1_000_000);
    }
    expect(Math.abs((uidA[0] ?? 0) - (uidB[0] ?? 0))).toBeGreaterThanOrEqual(65536);
    // Inside, the same process is root of its own user namespace.
    const inside = await run('id -u; cat /proc/self/uid_map');
    const [uid, map] = inside.stdout.trim().split('\n');
    expect(uid).toBe('0');
    expect(map?.trim().split(/\s+/)).toEqual(['0', expect.stringMatching(/^\d{7,}$/), '65536']);
    for (const s of [a, b]) expect((await cluster.kill(s.id)).state).toBe(TaskState.TASK_KILLED);
  });

  it("sees nothing of the host: not /root, not the agent's work dir, not a coordinator's directory", async () => {
    const { workDir } = cluster;
    const out = await run(
      [
        `ls -a /root 2>&1; cat ${rootProbe} 2>&1`,
        `ls ${workDir}; ls ${workDir}/meta 2>&1; cat ${workDir}/meta/agent-id 2>&1`,
        `ls ${coordDir} 2>&1; ls / | tr '\\n' ' '`,
      ].join('; '),
    );
    expect(out.status).toBe('TASK_FINISHED');
    expect(out.stdout).not.toContain('root-secret');
    expect(out.stdout).toContain("ls: cannot access '/root': No such file or directory");
    // The work dir is an empty path to the sandbox in the container's own /tmp: only `sandboxes`.
    expect(out.stdout).toMatch(/^sandboxes$/m);
    expect(out.stdout).toContain(`cannot access '${workDir}/meta': No such file or directory`);
    expect(out.stdout).toContain(`${coordDir}': No such file or directory`);
    expect(out.stdout).not.toContain('mallory');
    // The root holds the system directories and, bound at their host paths, Galaxy's own files
    // (the checkout and Node's prefix, wherever this machine keeps them): nothing else.
    const galaxyTops = [fileURLToPath(new URL('../..', import.meta.url)), process.execPath]
      .map((path) => path.split('/')[1] ?? '')
      .filter((top) => !['bin', 'lib', 'sbin', 'usr'].includes(top));
    const listing = out.stdout.trim().split('\n').at(-1)?.trim().split(' ') ?? [];
    expect(listing.filter((entry) => !galaxyTops.includes(entry))).toEqual(
      ['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr'].filter(
        (d) => d !== 'lib64' || existsSync('/lib64'),
      ),
    );
  });

  it("holds nothing of the host's in its init, which writes the task's output: the task cannot read its descriptors, all are the container's", async () => {
    // The init holds the sandbox open to write stdout and stderr there. Opened on the host (before
    // the container's root), `..` from that descriptor would lead to the agent's work dir; it is
    // opened by its path in the container, and the init's descriptors are not the task's to read.
    const inside = await run('ls /proc/1/fd 2>&1; true');
    expect(inside.stdout).toContain("cannot open directory '/proc/1/fd': Permission denied");
    const { id, pid } = await sleeper();
    const init = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    expect(readFileSync(`/proc/${init}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    const containerMounts = new Set(
      readFileSync(`/proc/${init}/mountinfo`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ')[0]),
    );
    const sandbox = await cluster.sandboxOf(id);
    const onMounts = readdirSync(`/proc/${init}/fd`)
      .map((fd) => ({
        fd,
        target: readlinkSync(`/proc/${init}/fd/${fd}`),
        mount: /^mnt_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${init}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '',
      }))
      .filter(({ target }) => target.startsWith(sandbox));
    // The sandbox and its stdout and stderr, each on a mount of the container's own. (Its stdin is
    // the host's /dev/null, a device, as runc's containers have it: no directory to walk up from.)
    expect(onMounts.map(({ target }) => target)).toEqual(expect.arrayContaining([sandbox, join(sandbox, 'stdout')]));
    for (const { fd, target, mount } of onMounts) expect(containerMounts.has(mount), `${fd} -> ${target}`).toBe(true);
    expect((await cluster.kill(id)).state).toBe(TaskState.TASK_KILLED);
  });

  it("cannot see another container's sandbox, nor its processes, nor signal them", async () => {
    const victim = await cluster.launch({ shell: 'echo victim-secret > secret; exec sleep 61' });
    await cluster.until(victim, [TaskState.TASK_RUNNING]);
    const victimSandbox = await cluster.sandboxOf(victim);
    await eventually(() => existsSync(join(victimSandbox, 'secret')), 5000, 'the victim to write its secret');
    const pid = await eventually(
      () => processesWithEnv(`GALAXY_TASK_ID=${victim}`).find((p) => readCmdline(p) === 'sleep 61'),
      5000,
      'the victim sleep',
    );
    const out = await run(
      [
        `cat ${victimSandbox}/secret 2>&1; ls ${victimSandbox} 2>&1`,
        `ls ${join(victimSandbox, '..')} | wc -l`,
        `for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done 2>/dev/null | grep -c '^sleep 61 $'`,
        `kill -KILL ${pid} 2>&1; echo "kill=$?"`,
      ].join('; '),
    );
    expect(out.stdout).not.toContain('victim-secret');
    expect(out.stdout).toContain(`${victimSandbox}/secret: No such file or directory`);
    // Its framework's sandboxes directory holds its own sandbox only; no sleep of anyone else.
    expect(out.stdout).toMatch(/^1\n0\n/m);
    expect(out.stdout).toMatch(/No such process\n+kill=1/);
    expect(isAlive(pid)).toBe(true);
    expect((await cluster.kill(victim)).state).toBe(TaskState.TASK_KILLED);
  });

  it("cannot mount, write /proc/sys, or hold more than Docker's default capabilities, with no_new_privs", async () => {
    const before = readFileSync('/proc/sys/kernel/hostname', 'utf8');
    const out = await run(
      [
        'mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>&1; echo "mount=$?"',
        '{ echo pwned > /proc/sys/kernel/hostname; } 2>&1; echo "sysctl=$?"',
        'grep -E "^(CapPrm|CapEff|CapBnd|NoNewPrivs)" /proc/self/status',
        'touch /usr/pwned 2>&1; echo "usr=$?"',
      ].join('; '),
    );
    expect(out.stdout).toMatch(/permission denied[\s\S]*mount=32/);
    expect(out.stdout).toMatch(/Read-only file system\nsysctl=[12]/);
    expect(out.stdout).toMatch(/^CapPrm:\s+00000000a80425fb$/m);
    expect(out.stdout).toMatch(/^CapEff:\s+00000000a80425fb$/m);
    expect(out.stdout).toMatch(/^CapBnd:\s+00000000a80425fb$/m);
    expect(out.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(out.stdout).toMatch(/Read-only file system\nusr=1/);
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8')).toBe(before);
    expect(hostname()).not.toBe('pwned');
    expect(existsSync('/usr/pwned')).toBe(false);
  });

  it("never lets the task's environment into the root part of its start (LD_PRELOAD of a host library)", async () => {
    // A library that, loaded into any process, records who loaded it: as root on the host, the
    // task's author would own the machine.
    const dir = await mkdtemp(join(cluster.shared, 'preload-'));
    const marker = join(tmpdir(), `galaxy-preload-marker-${randomBytes(4).toString('hex')}`);
    const source = join(dir, 'evil.c');
    await writeFile(
      source,
      `#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void evil(void) {\n` +
        `  FILE *f = fopen("${marker}", "a"); if (f) { fprintf(f, "uid=%d\\n", (int)getuid()); fclose(f); } }\n`,
    );
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'evil.so'), source]);
    try {
      const id = await cluster.launch({
        shell: 'echo ran',
        env: { LD_PRELOAD: join(dir, 'evil.so'), GLIBC_TUNABLES: 'glibc.malloc.check=3' },
      });
      const status = await cluster.until(id, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED, TaskState.TASK_ERROR]);
      expect(TaskState[status.state]).toBe('TASK_FINISHED');
      // Only the task saw it, inside its container, where the host's library is not.
      expect(existsSync(marker)).toBe(false);
      expect(await readFile(join(await cluster.sandboxOf(id), 'stdout'), 'utf8')).toBe('ran\n');
    } finally {
      await rm(marker, { force: true });
    }
  });

  it('leaves no link for the agent (root) to follow out of its sandbox when its disk image goes', async () => {
    // The disk isolator carries stdout and stderr out of the image after the container is gone.
    const id = await cluster.launch({
      shell: `rm -f stdout stderr; ln -s ${rootProbe} stdout; ln -s /etc/shadow stderr`,
      resources: { cpus: 100, mem: 32 * 1024 ** 2, disk: 16 * 1024 ** 2, gpus: 0, ports: [] },
    });
    expect(TaskState[(await cluster.until(id, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED])).state]).toBe(
      'TASK_FINISHED',
    );
    const sandbox = await cluster.sandboxOf(id);
    await eventually(() => !readFileSync('/proc/mounts', 'utf8').includes(sandbox), 5000, 'the image unmounted');
    for (const file of ['stdout', 'stderr']) {
      const text = existsSync(join(sandbox, file)) ? await readFile(join(sandbox, file), 'utf8') : '';
      expect(text, file).not.toContain('root-secret');
      expect(text, file).not.toMatch(/^root:/m);
    }
  });

  it('refuses a bind volume of / at ACCEPT with a clear error, launching nothing', async () => {
    const tasks = cluster.master.view.tasks('').length;
    const claimed = claims().length;
    const launch = cluster.launch({
      shell: 'cat etc/shadow',
      volumes: [Volume.fromPartial({ kind: Volume_Kind.BIND, path: 'host', hostPath: '/', readOnly: true })],
    });
    await expect(launch).rejects.toMatchObject({
      code: 'GALAXY_E_HOST_PATH_DENIED',
      message: expect.stringMatching(/host path \/ is the host's root/) as unknown,
    });
    expect(cluster.master.view.tasks('')).toHaveLength(tasks);
    expect(claims()).toHaveLength(claimed);
  });

  it('refuses, on the agent, a bind that reaches its work dir through a symlink under an allowed path', async () => {
    const link = join(cluster.shared, `link-${randomBytes(3).toString('hex')}`);
    await symlink(cluster.workDir, link);
    const claimed = claims().length;
    const containersBefore = readdirSync(`/sys/fs/cgroup/freezer/${cluster.cgroupRoot}`).filter(
      (n) => !n.includes('.'),
    );
    // The master sees a path under the allowed directory; only the real path shows where it leads.
    const id = await cluster.launch({
      shell: 'cat host/meta/agent-id',
      volumes: [Volume.fromPartial({ kind: Volume_Kind.BIND, path: 'host', hostPath: link, readOnly: true })],
    });
    const status = await cluster.until(id, [TaskState.TASK_ERROR, TaskState.TASK_FAILED, TaskState.TASK_FINISHED]);
    expect(TaskState[status.state]).toBe('TASK_ERROR');
    expect(status.message).toMatch(/GALAXY_E_HOST_PATH_DENIED: .*holds or is inside the agent's work directory/);
    expect(claims()).toHaveLength(claimed);
    const containersAfter = readdirSync(`/sys/fs/cgroup/freezer/${cluster.cgroupRoot}`).filter((n) => !n.includes('.'));
    expect(containersAfter).toEqual(containersBefore);
    // Nor may `..` lead out of an allowed directory.
    await expect(
      cluster.launch({
        shell: 'true',
        volumes: [
          Volume.fromPartial({
            kind: Volume_Kind.BIND,
            path: 'up',
            hostPath: `${cluster.shared}/../..`,
            readOnly: true,
          }),
        ],
      }),
    ).rejects.toMatchObject({ code: 'GALAXY_E_HOST_PATH_DENIED' });
  });

  it('keeps its checkpoints (which hold task environments) to the agent: 0600 files in 0700 directories', async () => {
    const { id } = await sleeper();
    const meta = join(cluster.workDir, 'meta');
    const files = await eventually(
      async () => {
        const dirs = (await readdirSafe(join(meta, 'tasks'))).map((fw) => join(meta, 'tasks', fw));
        const all = (await Promise.all(dirs.map(async (d) => (await readdirSafe(d)).map((f) => join(d, f)))))
          .flat()
          .filter((f) => f.endsWith('.json'));
        return all.length > 0 && all;
      },
      5000,
      'a task checkpoint',
    );
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    expect(await mode(meta)).toBe(0o700);
    for (const file of files) expect(await mode(file)).toBe(0o600);
    expect((await cluster.kill(id)).state).toBe(TaskState.TASK_KILLED);
  });
});

async function readdirSafe(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
