/**
 * `galaxy logs` and `galaxy task logs` against a real cluster (`galaxy up` in its own process:
 * master, agent, AppMaster and batch on real gRPC, every server authenticating), through the CLI
 * run as a separate process. alice runs a service printing a line every 300 ms and batch jobs;
 * bob holds the same authorities (not job:any). docs/security.md, "Logs":
 *
 * - alice follows her pod (`galaxy logs -f`) and sees lines it prints after she started;
 *   `--tail 1` prints one line; a finished batch task's output is still readable;
 * - bob cannot read her task's output: `galaxy task logs <her task>` is refused exactly as a task
 *   that does not exist (GALAXY_E_TASK_UNKNOWN, exit 2, nothing printed); `galaxy logs <her job>`
 *   is refused by the AppMaster (job:any);
 * - path tricks: a task id with `../` names no task; links to a host file, a FIFO and a hard link
 *   planted by her task as its rotated files or as its stderr read as nothing of that file (and
 *   never block the agent), while her own output reads as before.
 *
 * And the watches the CLI's --watch uses: `galaxy tasks -w -o json` prints a new snapshot when a
 * task starts (bob's watch never shows alice's tasks), `galaxy job show -w` when her job is scaled.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import { eventually } from '../helpers/async-queue.js';
import { galaxy } from '../helpers/processes.js';
import { startUpCluster, type UpClients, type UpCluster, JOB_OWNER_VERBS } from '../helpers/up-cluster.js';

let cluster: UpCluster;
let alice: UpClients;
let aliceToken = '';
let bobToken = '';
let secretDir = '';
let secret = '';
const tag = Math.random().toString(36).slice(2, 8);
const web = `ticker-${tag}`;
const pod = `${web}-0`;

/** The example service's package, started as a ticker instead of its server. */
async function tickerSpec(): Promise<string> {
  const pkg = join(cluster.workDir, 'packages', 'hello-service-1.0.0.tar.gz');
  const sha256 = createHash('sha256')
    .update(await readFile(pkg))
    .digest('hex');
  return JSON.stringify({
    name: web,
    band: 'batch',
    replicas: 1,
    resources: { cpu: { millicores: 100, excess: true }, memory: { hard: '64Mi' } },
    package: { source: pathToFileURL(pkg).href, version: '1.0.0', sha256 },
    commands: { start: 'i=0; while :; do i=$((i+1)); echo tick-$i; echo err-$i >&2; sleep 0.3; done' },
  });
}

const batchJob = (name: string, command: string) =>
  BatchJobSpec.fromPartial({
    name,
    command,
    completions: 1,
    parallelism: 1,
    resources: { cpus: 100, mem: 16 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
  });

/** The id of alice's task whose name contains `name`. */
async function taskOf(name: string): Promise<string> {
  return eventually(
    async () => (await alice.operator.listTasks({ frameworkId: '' })).tasks.find((t) => t.name.includes(name))?.taskId,
    20_000,
    `the task of ${name}`,
  );
}

beforeAll(async () => {
  secretDir = await mkdtemp(join(tmpdir(), 'galaxy-logs-secret-'));
  secret = join(secretDir, 'secret');
  await writeFile(secret, 'TOPSECRET\n');
  cluster = await startUpCluster('task-logs', '[22700-22749]');
  aliceToken = await cluster.addUser('alice', 'default', JOB_OWNER_VERBS);
  alice = cluster.clients(aliceToken);
  bobToken = await cluster.addUser('bob', 'default', JOB_OWNER_VERBS);
  await alice.appmaster.submitJob({ specJson: await tickerSpec() });
  await eventually(
    async () => (await alice.appmaster.showJob({ name: web })).pods[0]?.phase === 'running',
    60_000,
    'her ticker running',
  );
}, 150_000);

afterAll(async () => {
  await cluster.stop();
  if (secretDir) await rm(secretDir, { recursive: true, force: true });
}, 30_000);

const where = () => ['-m', cluster.master, '-a', cluster.appmaster];

describe('galaxy logs on a live pod', { timeout: 60_000 }, () => {
  it('follows new lines as the pod prints them (-f)', async () => {
    const follower = galaxy(['logs', '-f', ...where(), web, pod], {
      GALAXY_TOKEN: aliceToken,
      GALAXY_LOG_LEVEL: 'warn',
    });
    try {
      const first = await follower.lines.waitFor((l) => /^tick-\d+$/.test(l), 20_000, 'a first line');
      const n = Number(first.slice('tick-'.length));
      // Lines printed after the follower had its first: only following shows them.
      await follower.lines.waitFor((l) => l === `tick-${n + 5}`, 20_000, `tick-${n + 5}`);
      const ticks = follower.lines.items.filter((l) => l.startsWith('tick-')).map((l) => Number(l.slice(5)));
      expect(ticks).toEqual(ticks.map((_, k) => (ticks[0] ?? 0) + k)); // in order, none lost or repeated
      expect(follower.lines.items.some((l) => l.startsWith('err-'))).toBe(false); // stdout only
    } finally {
      await follower.stop('SIGINT', 5000);
    }
  });

  it('prints the last line with --tail 1, and stderr with --stderr', async () => {
    const tail = await cluster.cli(aliceToken, ['logs', ...where(), '--tail', '1', web, pod]);
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout).toMatch(/^tick-\d+\n$/);
    const err = await cluster.cli(aliceToken, ['logs', ...where(), '--tail', '2', '--stderr', web, '0']);
    expect(err.stdout).toMatch(/^err-\d+\nerr-\d+\n$/);
  });

  it('refuses a bad --tail with a coded error before any call', async () => {
    const bad = await cluster.cli(aliceToken, ['logs', ...where(), '--tail', '-3', web, pod]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('GALAXY_E_INVALID_ARGUMENT: --tail must be a whole number');
  });
});

describe("attacks on another user's output", { timeout: 60_000 }, () => {
  it("refuses bob her pod's output, as if the task did not exist; nothing is printed", async () => {
    const taskId = (await alice.appmaster.showJob({ name: web })).pods[0]?.taskId ?? '';
    expect(taskId).not.toBe('');
    const mine = await cluster.cli(aliceToken, ['task', 'logs', '-m', cluster.master, '--tail', '1', taskId]);
    expect(mine.stdout).toMatch(/^tick-\d+\n$/);
    const direct = await cluster.cli(bobToken, ['task', 'logs', '-m', cluster.master, taskId]);
    expect(direct.code).toBe(2);
    expect(direct.stdout).toBe('');
    expect(direct.stderr).toContain(
      `GALAXY_E_TASK_UNKNOWN: no task "${taskId}" whose output bob may read (galaxy tasks lists them)`,
    );
    const missing = await cluster.cli(bobToken, ['task', 'logs', '-m', cluster.master, 'no-such-task']);
    expect(missing.stderr).toContain('GALAXY_E_TASK_UNKNOWN: no task "no-such-task" whose output bob may read');
    const viaJob = await cluster.cli(bobToken, ['logs', ...where(), web, pod]);
    expect(viaJob.code).toBe(2);
    expect(viaJob.stdout).toBe('');
    expect(viaJob.stderr).toContain(
      `GALAXY_E_PERMISSION_DENIED: user bob lacks job:any in pool default to act on job "${web}"`,
    );
  });

  it('names no task with ../ in its id', async () => {
    for (const id of ['../../../etc/passwd', '..', `${'x/'.repeat(3)}stdout`]) {
      const attack = await cluster.cli(aliceToken, ['task', 'logs', '-m', cluster.master, id]);
      expect(attack.code).toBe(2);
      expect(attack.stdout).toBe('');
      expect(attack.stderr).toContain('GALAXY_E_TASK_UNKNOWN');
    }
  });

  it('reads nothing of a host file through links, a FIFO or a hard link her task planted', async () => {
    const name = `planter-${tag}`;
    // In its sandbox (its working directory): its rotated files and its stderr become traps.
    const plant = [
      'echo mine',
      `ln -s ${secret} stdout.1`,
      'mkfifo stdout.2',
      `ln ${secret} stdout.3 || true`,
      `rm -f stderr && ln -s ${secret} stderr`,
      'sleep 60',
    ].join('; ');
    await alice.batch.submit(batchJob(name, plant));
    const taskId = await taskOf(name);
    await eventually(
      async () => (await cluster.cli(aliceToken, ['task', 'logs', '-m', cluster.master, taskId])).stdout === 'mine\n',
      20_000,
      'her own line',
    );
    const out = await cluster.cli(aliceToken, ['task', 'logs', '-m', cluster.master, taskId]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe('mine\n');
    const err = await cluster.cli(aliceToken, ['task', 'logs', '-m', cluster.master, '--stderr', taskId]);
    expect(err.code, err.stderr).toBe(0);
    expect(err.stdout).not.toContain('TOPSECRET');
    expect(err.stdout).toBe('');
    await alice.batch.cancel(name);
  });

  it("reads a finished task's output while its sandbox is kept", async () => {
    const name = `done-${tag}`;
    await alice.batch.submit(batchJob(name, 'echo finished-output'));
    const taskId = await taskOf(name);
    await eventually(async () => (await alice.batch.show(name)).succeeded === 1, 20_000, 'the job to finish');
    const out = await cluster.cli(aliceToken, ['task', 'logs', '-m', cluster.master, '-f', taskId]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe('finished-output\n');
  });
});

describe('watches pushed by the servers', { timeout: 60_000 }, () => {
  it("prints a new task list when a task starts; another user's watch never shows it", async () => {
    const env = { GALAXY_LOG_LEVEL: 'warn' };
    const hers = galaxy(['tasks', '-w', '-o', 'json', '-m', cluster.master], { ...env, GALAXY_TOKEN: aliceToken });
    const his = galaxy(['tasks', '-w', '-o', 'json', '-m', cluster.master], { ...env, GALAXY_TOKEN: bobToken });
    try {
      await hers.lines.waitFor((l) => l.startsWith('['), 20_000, 'her first snapshot');
      await his.lines.waitFor((l) => l.startsWith('['), 20_000, 'his first snapshot');
      const name = `watched-${tag}`;
      await alice.batch.submit(batchJob(name, 'sleep 30'));
      const frame = await hers.lines.waitFor(
        (l) => l.includes(name) && l.includes('TASK_RUNNING'),
        20_000,
        'her task running',
      );
      const tasks = JSON.parse(frame) as { name: string; state: string }[];
      expect(tasks.find((t) => t.name.includes(name))?.state).toBe('TASK_RUNNING'); // enum names
      expect(his.lines.items.some((l) => l.includes(name) || l.includes(web))).toBe(false);
      await alice.batch.cancel(name);
    } finally {
      await hers.stop('SIGINT', 5000);
      await his.stop('SIGINT', 5000);
    }
  });

  it('prints the job again when it is scaled (galaxy job show -w)', async () => {
    const watcher = galaxy(['job', 'show', '-w', '-a', cluster.appmaster, web], {
      GALAXY_LOG_LEVEL: 'warn',
      GALAXY_TOKEN: aliceToken,
    });
    try {
      await watcher.lines.waitFor((l) => l.startsWith(`job ${web}:`), 20_000, 'the first frame');
      await alice.appmaster.scaleJob({ name: web, replicas: 2 });
      await watcher.lines.waitFor((l) => l.trim().startsWith(`${web}-1 `), 30_000, 'a frame with the second pod');
    } finally {
      await watcher.stop('SIGINT', 5000);
      await alice.appmaster.scaleJob({ name: web, replicas: 1 });
    }
  });
});
