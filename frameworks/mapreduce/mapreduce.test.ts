/**
 * The MapReduce framework end to end: a master and the framework in this process, three agents
 * each in its own network namespace on a private bridge, running real containers. Word count
 * over a generated input, M=4 and R=2: the maps serve their partitions from inside their
 * containers on their agents' addresses, the reduces fetch them across the namespaces, and the
 * collected output equals a direct count of the same input. Then one map is killed mid-job, and
 * one map's host is cut off from the network: each time the framework runs the map again (on
 * another host when cut off) and the result is still exact.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { MapReduce } from '../../cli/mapreduce-client.js';
import { createLogger } from '../../core/logger.js';
import { startMaster, type Master } from '../../master/master.js';
import { MapReduceJobState } from '../../proto/gen/galaxy/v1/mapreduce.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { startHosts, type Host, type Hosts } from '../../test/helpers/hosts.js';
import { GALAXY_BIN, galaxy, killWithEnv, terminateAll, processesWithEnv } from '../../test/helpers/processes.js';
import { runFramework, type FrameworkHandle } from '../host/host.js';
import { collected, directCount, sorted } from '../../test/helpers/word-count.js';

const tag = randomBytes(3).toString('hex');
const cgroupRoot = (i: number) => `galaxy-mapreduce-test-${tag}-${i}`;
let workDir = '';
let input = '';
let hosts: Hosts | undefined;
let master: Master | undefined;
let framework: FrameworkHandle | undefined;
let client: MapReduce | undefined;
const agents: ChildProcess[] = [];

/** Starts the agent of host `i` (real containers), logging to the work dir. */
function startAgent(host: Host, i: number, masterAddress: string): ChildProcess {
  const child = host.exec(
    [
      process.execPath,
      GALAXY_BIN,
      'agent',
      '--master',
      masterAddress,
      '--hostname',
      host.address,
      '--work-dir',
      join(workDir, `agent-${i}`),
      '--resources',
      'cpus:2;mem:2GiB;ports:[22000-22099]',
      '--isolation',
      'cpu,memory,pids',
      '--cgroup-root',
      cgroupRoot(i),
      // The maps read the input through a read-only bind of it.
      '--allowed-host-paths',
      input,
    ],
    { GALAXY_LOG_LEVEL: 'info', NO_COLOR: '1' },
  );
  const log = createWriteStream(join(workDir, `agent-${i}.log`));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Writes the input: files of random words (mixed case, punctuation), one empty file. */
async function generateInput(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const vocabulary = Array.from({ length: 400 }, (_, i) => `w${i.toString(36)}${'xyz'.slice(0, i % 4)}`);
  const separators = [' ', ' ', ' ', '\n', ', ', '. ', '; ', '\t', ' -- '];
  for (let f = 0; f < 6; f++) {
    let text = '';
    const words = 2000 + randomInt(8000);
    for (let i = 0; i < words; i++) {
      const word =
        vocabulary[Math.min(vocabulary.length - 1, Math.floor(Math.abs(randomInt(400) - randomInt(400))))] ?? 'x';
      text += (i % 17 === 0 ? word.toUpperCase() : word) + (separators[randomInt(separators.length)] ?? ' ');
    }
    await writeFile(join(dir, `part-${f}.txt`), text);
  }
  await writeFile(join(dir, 'empty.txt'), '');
}

const hostOf = (address: string) => address.replace(/:\d+$/, '');

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-mapreduce-'));
  input = join(workDir, 'input');
  await generateInput(input);
  hosts = startHosts(3);
  master = await startMaster({
    listen: `${hosts.bridgeAddress}:0`,
    insecureNoAuth: true,
    logLevel: 'silent',
    // An agent that stops answering is disconnected after 3 s and its tasks are UNREACHABLE 4 s later.
    timings: { allocationIntervalMs: 100, agentPingIntervalMs: 1000, agentReregisterTimeoutMs: 4000 },
  });
  const address = master.address;
  hosts.hosts.forEach((host, i) => agents.push(startAgent(host, i, address)));
  await eventually(() => master?.view.agents().filter((a) => a.active).length === 3, 20_000, '3 agents to register');
  framework = await runFramework('mapreduce', {
    master: address,
    options: { listen: '127.0.0.1:0' },
    log: createLogger('mapreduce', 'silent'),
  });
  client = new MapReduce(framework.framework.endpoint ?? '');
}, 60_000);

afterEach(async (context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const [i] of agents.entries()) {
    const log = await readFile(join(workDir, `agent-${i}.log`), 'utf8').catch(() => '');
    console.error(`--- agent ${i} (last lines)\n${log.split('\n').slice(-20).join('\n')}`);
  }
});

afterAll(async () => {
  const left: string[] = [];
  try {
    client?.close();
    await framework?.stop(); // cancels running jobs: their tasks are killed
    // Copies left behind the partition go once their agent is back and the master kills the stale
    // copies (its reconnect backs off: give it time on a loaded machine).
    await eventually(() => processesWithEnv(`GALAXY_SANDBOX=${workDir}`).length === 0, 30_000).catch(() => undefined);
    await terminateAll(agents);
    await master?.stop();
    left.push(...processesWithEnv(`GALAXY_SANDBOX=${workDir}`).map((pid) => `process ${pid}`));
  } finally {
    killWithEnv(`GALAXY_SANDBOX=${workDir}`);
    await hosts?.stop();
    const driver = detectCgroupDriver();
    for (const [i] of agents.entries())
      await driver.remove(cgroupRoot(i), ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']).catch(() => undefined);
    if (workDir !== '') await rm(workDir, { recursive: true, force: true });
  }
  expect(left).toEqual([]);
}, 90_000);

describe('mapreduce word count across network namespaces', { timeout: 90_000 }, () => {
  it('counts words with M=4, R=2 from the CLI, shuffling between agents; the output equals a direct count', async () => {
    const output = join(workDir, 'out-cli');
    const cli = galaxy([
      'mr',
      'wordcount',
      input,
      '--maps',
      '4',
      '--reduces',
      '2',
      '--output',
      output,
      '--name',
      'wc-cli',
      '--mapreduce',
      framework?.framework.endpoint ?? '',
    ]);
    const code = await cli.exited;
    const printed = cli.lines.items.filter((l) => !l.startsWith('{"level"'));
    console.log(printed.join('\n'));
    expect(code).toBe(0);
    expect(printed.some((l) => /^wordcount wc-cli SUCCEEDED in [\d.]+ s$/.test(l))).toBe(true);

    const job = await (client as MapReduce).show('wc-cli');
    const expected = await directCount(input);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(sorted(await collected(job))).toEqual(sorted(expected));
    expect(job.summary).toMatchObject({ distinctWords: expected.size, totalWords: total });
    expect(printed).toContain(`  words     ${total} total, ${expected.size} distinct`);
    expect((await readdir(output)).sort()).toEqual(['part-r-00000', 'part-r-00001']);
    // The maps ran on several agents, each in its own namespace: the shuffle crossed the bridge.
    const maps = job.tasks.filter((t) => t.kind === 'map');
    expect(maps).toHaveLength(4);
    const mapHosts = new Set(maps.map((t) => hostOf(t.address)));
    expect(mapHosts.size).toBeGreaterThanOrEqual(2);
    for (const h of mapHosts) expect(hosts?.hosts.map((x) => x.address)).toContain(h);
    // Every reduce fetched from at least one map on another host.
    const reduces = job.tasks.filter((t) => t.kind === 'reduce');
    expect(reduces).toHaveLength(2);
    for (const r of reduces) expect([...mapHosts].some((h) => h !== hostOf(r.address))).toBe(true);
    expect(job.progress).toMatchObject({ maps: 4, mapsReady: 4, reduces: 2, reducesDone: 2 });
    // Once the job ended, none of its tasks runs on.
    await eventually(() => processesWithEnv(`GALAXY_SANDBOX=${workDir}`).length === 0, 10_000, 'the tasks to end');
    // The event log has the job's submit and end (published by the framework) and its tasks' events under its name.
    const events = await eventually(
      () => {
        const all = master?.events.query({ job: 'wc-cli' }) ?? [];
        return all.some((e) => e.kind === 'job.succeeded') ? all : undefined;
      },
      10_000,
      "the job's end in the event log",
    );
    expect(events.find((e) => e.kind === 'job.submitted')?.message).toBe('4 maps, 2 reduces');
    // Four maps and two reduces ran under the job's name (the framework kills each once its output is collected).
    const ran = (kind: string) => new Set(events.filter((e) => e.kind === kind).map((e) => e.taskId)).size;
    expect([ran('task.running'), ran('task.killed')]).toEqual([6, 6]);
  });

  it('re-runs a map task killed mid-job, and the result is still exact', async () => {
    const mr = client as MapReduce;
    const output = join(workDir, 'out-loss');
    await mr.submit({ name: 'wc-loss', input, output, maps: 4, reduces: 2, maxAttempts: 0 });
    // As soon as the first map serves its partitions (before every reduce has them), kill its container.
    const victim = await eventually(
      async () => (await mr.show('wc-loss')).tasks.find((t) => t.kind === 'map' && t.state === 'ready'),
      30_000,
      'a map to be ready',
    );
    const pids = processesWithEnv(`GALAXY_TASK_ID=${victim.taskId}\0`);
    expect(pids.length).toBeGreaterThan(0);
    // A process listed may have ended since (the container's helper): kill what is still there.
    const killed = pids.filter((pid) => {
      try {
        process.kill(pid, 'SIGKILL');
        return true;
      } catch {
        return false;
      }
    });
    expect(killed.length).toBeGreaterThan(0);

    const job = await eventually(
      async () => {
        const j = await mr.show('wc-loss');
        return j.state >= MapReduceJobState.MAPREDUCE_SUCCEEDED && j;
      },
      60_000,
      'the job to end',
    );
    expect(MapReduceJobState[job.state]).toBe('MAPREDUCE_SUCCEEDED');
    expect(job.progress?.mapReruns).toBeGreaterThanOrEqual(1);
    const rerun = job.tasks.find((t) => t.kind === 'map' && t.index === victim.index);
    expect(rerun?.attempt).toBeGreaterThanOrEqual(2);
    expect(rerun?.taskId).not.toBe(victim.taskId);
    expect(sorted(await collected(job))).toEqual(sorted(await directCount(input)));
  });

  it('re-runs a map on another host when its host is cut off from the network', async () => {
    const mr = client as MapReduce;
    await mr.submit({ name: 'wc-cut', input, output: join(workDir, 'out-cut'), maps: 4, reduces: 2, maxAttempts: 0 });
    const victim = await eventually(
      async () => (await mr.show('wc-cut')).tasks.find((t) => t.kind === 'map' && t.state === 'ready'),
      30_000,
      'a map to be ready',
    );
    const cut = hosts?.hosts.find((h) => h.address === hostOf(victim.address));
    if (!cut) throw new Error(`map ${victim.taskId} runs on ${victim.address}, none of the test's hosts`);
    cut.partition();
    try {
      const job = await eventually(
        async () => {
          const j = await mr.show('wc-cut');
          return j.state >= MapReduceJobState.MAPREDUCE_SUCCEEDED && j;
        },
        60_000,
        'the job to end',
      );
      expect(MapReduceJobState[job.state]).toBe('MAPREDUCE_SUCCEEDED');
      expect(job.progress?.mapReruns).toBeGreaterThanOrEqual(1);
      const rerun = job.tasks.find((t) => t.kind === 'map' && t.index === victim.index);
      expect(rerun?.attempt).toBeGreaterThanOrEqual(2);
      // Nothing that produced the result ran behind the partition.
      for (const t of job.tasks) expect(hostOf(t.address)).not.toBe(cut.address);
      expect(sorted(await collected(job))).toEqual(sorted(await directCount(input)));
    } finally {
      cut.heal(); // the copies left behind the partition are killed when the agent is back, or by afterAll
    }
  });
});
