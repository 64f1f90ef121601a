/**
 * Agent recovery on the real kernel: after `kill -9` of the agent and a restart, live containers
 * are re-attached (not restarted), containers that ended meanwhile are reported with their exit
 * codes, and cgroups nobody checkpointed are removed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { startMaster, type Master } from '../../master/master.js';
import { networkFor } from '../../isolators/tcp/index.js';
import { UID_CLAIMS_DIR } from '../../agent/containerizer/uid-blocks.js';
import { TaskState, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { galaxy, killWithEnv, processesWithEnv, stopAll, type GalaxyProcess } from '../helpers/processes.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { statusOf } from '../helpers/framework-events.js';

const driver = detectCgroupDriver();
const cgroupRoot = `galaxy-recovery-test-${randomBytes(4).toString('hex')}`;
let workDir = '';
let master: Master;
let fw: RawFramework;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-recovery-'));
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 50, agentReregisterTimeoutMs: 60_000 },
  });
  fw = rawFramework(master.address, { name: 'recovery-test', failoverTimeoutS: 60 }, true);
  await fw.frameworkId;
});

afterAll(async () => {
  fw.close();
  await stopAll();
  await master.stop();
  const left = processesWithEnv(`GALAXY_SANDBOX=${workDir}`);
  killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  for (const id of await driver.children(cgroupRoot)) {
    for (const pid of await driver.pids('freezer', `${cgroupRoot}/${id}`)) process.kill(pid, 'SIGKILL');
  }
  await driver.remove(cgroupRoot, ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']);
  await rm(workDir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

/** A web server answering on PORT0 at the container's own address. */
const WEB = `require('http').createServer((q, s) => s.end('alive')).listen(+process.env.PORT0, process.env.GALAXY_IP)`;

/** GET http://127.0.0.1:<port>/ (a port the agent published); undefined when nothing answers. */
function get(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => {
        resolve(text);
      });
    });
    req.on('error', () => {
      resolve(undefined);
    });
    req.end();
  });
}

/** The host uid of `pid` (0 for the container's helper, which stays on the host as root). */
function hostUid(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? -1);
}

function agentProcess(): GalaxyProcess {
  return galaxy([
    'agent',
    '--master',
    master.address,
    '--work-dir',
    join(workDir, 'agent'),
    '--resources',
    'cpus:2;mem:1GiB;disk:1GiB;ports:[26200-26209]',
    '--isolation',
    'cpu,memory,pids,disk,tcp',
    '--cgroup-root',
    cgroupRoot,
  ]);
}
function task(taskId: string, shell: string, ports: { begin: number; end: number }[] = [], disk = 0): TaskInfo {
  return {
    taskId,
    name: taskId,
    agentId: '',
    resources: { cpus: 100, mem: 64 * 1024 ** 2, disk, gpus: 0, ports },
    command: { shell, argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}
async function until(taskId: string, state: TaskState, timeoutMs = 15_000): Promise<TaskStatus> {
  const e = await fw.events.waitFor(
    (ev) => statusOf(ev)?.taskId === taskId && statusOf(ev)?.state === state,
    timeoutMs,
    `${taskId} ${TaskState[state]}`,
  );
  return statusOf(e) as TaskStatus;
}

describe('agent recovery', () => {
  it('re-attaches to live containers after kill -9, reports those that ended, and removes orphans', async () => {
    const first = agentProcess();
    const e = await fw.events.waitFor((ev) => ev.event?.$case === 'offers', 10_000, 'an offer');
    const offer = e.event?.$case === 'offers' ? e.event.offers.offers[0] : undefined;
    await fw.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: [offer?.id ?? ''],
          operations: [
            {
              operation: {
                $case: 'launch',
                launch: {
                  taskInfos: [
                    task(
                      'long',
                      `exec ${process.execPath} -e "${WEB}"`,
                      [{ begin: 26200, end: 26200 }],
                      16 * 1024 ** 2,
                    ),
                    task('short', 'sleep 2; exit 7'),
                  ],
                },
              },
            },
          ],
        },
      },
    });
    await until('long', TaskState.TASK_RUNNING);
    await until('short', TaskState.TASK_RUNNING);
    const agentId = offer?.agentId ?? '';
    const containersBefore = await driver.children(cgroupRoot);
    expect(containersBefore).toHaveLength(2);

    // The container's helper (its monitor on the host), the namespace's init (which also writes the
    // task's output) and the task itself.
    const longPids = await eventually(
      () => {
        const pids = processesWithEnv('GALAXY_TASK_ID=long').sort();
        return pids.length === 3 && pids;
      },
      5000,
      'the three processes of the long task',
    );
    expect(await eventually(() => get(26200), 10_000, 'the web task')).toBe('alive');
    // Each container's host uid block is claimed (agent/containerizer/uid-blocks.ts).
    const claimOf = (taskPid: number) => join(UID_CLAIMS_DIR, String(hostUid(taskPid)));
    const longClaim = claimOf(longPids.find((pid) => hostUid(pid) !== 0) ?? 0);
    expect(existsSync(longClaim)).toBe(true);
    await first.stop('SIGKILL');
    // With the agent gone, the task lives on in its namespace, and its published port still answers:
    // the port is the kernel's (isolators/tcp/nat.ts), not the agent's.
    expect(await get(26200)).toBe('alive');
    const orphanNetns = networkFor(cgroupRoot, 'orphan', 0).netns;
    execFileSync('ip', ['netns', 'add', orphanNetns]);
    execFileSync('nft', ['add', 'table', 'ip', orphanNetns]);
    // While the agent is down: 'short' exits with 7, 'long' keeps running, and an orphan appears.
    await driver.create(`${cgroupRoot}/orphan`, ['freezer', 'memory']);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await driver.children(cgroupRoot)).sort()).toEqual([...containersBefore, 'orphan'].sort());

    agentProcess();
    const short = await until('short', TaskState.TASK_FAILED);
    expect(short.exitCode).toBe(7);
    await eventually(
      () => master.view.agents().find((a) => a.info?.id === agentId)?.active,
      10_000,
      'the same agent id back',
    );
    const long = master.view.tasks('').find((t) => t.taskId === 'long');
    expect(long?.state).toBe(TaskState.TASK_RUNNING);
    // The very same processes: re-attached, not restarted, and their uid block is still theirs.
    expect(processesWithEnv('GALAXY_TASK_ID=long').sort()).toEqual(longPids);
    expect(JSON.parse(readFileSync(longClaim, 'utf8'))).toMatchObject({ owner: join(workDir, 'agent') });
    await eventually(async () => !(await driver.children(cgroupRoot)).includes('orphan'), 5000, 'the orphan removed');
    expect(existsSync(`/run/netns/${orphanNetns}`)).toBe(false);
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(orphanNetns);
    // The re-attached task's port is served again, and its quota mount is still its own.
    expect(await eventually(() => get(26200), 10_000, 'the web task through the new agent')).toBe('alive');
    expect(readFileSync('/proc/mounts', 'utf8')).toContain(join(workDir, 'agent', 'sandboxes'));
    // Killing the re-attached task works as for any other.
    await fw.call({ call: { $case: 'kill', kill: { taskId: 'long', agentId: '' } } });
    await until('long', TaskState.TASK_KILLED);
    await eventually(async () => (await driver.children(cgroupRoot)).length === 0, 5000, 'no containers left');
    await eventually(() => !existsSync(longClaim), 5000, 'its uid block released');
  });
});
