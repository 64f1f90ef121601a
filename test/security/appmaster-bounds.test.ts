/**
 * Attacks on the AppMaster's resources, against a real `galaxy up` (master, agent and AppMaster in
 * one process, the hello service running) over real gRPC, with the CLI as a real process:
 *
 * - a 1 MiB spec of 150,000 keys, sent past the CLI straight to the API, is refused in well under
 *   a second each time, while `galaxy job list` keeps answering; the p99 latency of ListJobs
 *   during the attack is printed;
 * - an exec printing hundreds of MiB of bytes that are not UTF-8 returns a bounded, marked result,
 *   and the pod's pulls keep working (without the bound its result was larger than a message may
 *   be, and the pod's pulls failed from then on);
 * - a pod's waiting execs are capped;
 * - a spec too large for one coordinator key is refused at submit with the limit named, and
 *   nothing of it is stored.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppMasterApi } from '../../cli/operator-client.js';
import { MAX_EXEC_OUTPUT_BYTES } from '../../frameworks/appmaster/exec-output.js';
import { MAX_SPEC_BYTES } from '../../frameworks/appmaster/spec/parse.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { GALAXY_BIN } from '../helpers/processes.js';
import { startUpCluster, type UpCluster } from '../helpers/up-cluster.js';

const run = promisify(execFile);

let cluster: UpCluster | undefined;
let base = '';
let workDir = '';
let appmaster = '';
let token = '';
let api: AppMasterApi;

beforeAll(async () => {
  cluster = await startUpCluster('sec-appmaster', '[22400-22419]');
  ({ base, workDir, appmaster, adminToken: token } = cluster);
  api = cluster.clients(token).appmaster;
}, 150_000);

afterAll(async () => {
  // Ctrl-C: galaxy up stops its pods; anything left of them is killed.
  await cluster?.stop();
});

/** Runs the CLI as a separate process, as the admin; resolves with its exit code, output and duration. */
async function cli(args: string[]): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  const result = await runCli(args, {
    cwd: base,
    env: { GALAXY_TOKEN: token },
    timeoutMs: 90_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { ...result, ms: Date.now() - started };
}

/** Valid JSON of about 150,000 keys in under 1 MiB: maps of one-character keys inside a map. */
function manyKeysJson(): { text: string; keys: number } {
  const chars = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter(
    (c) => c !== '"' && c !== '\\',
  );
  const inner = `{${chars.map((c) => `"${c}":0`).join(',')}}`;
  const outer: string[] = [];
  for (const a of chars)
    for (const b of chars) if (outer.length < 1620) outer.push(`${JSON.stringify(a + b)}:${inner}`);
  return { text: `{${outer.join(',')}}`, keys: outer.length * (chars.length + 1) };
}

/** A YAML map of 150,000 keys, one per line. */
function manyKeysYaml(): string {
  let text = '';
  for (let i = 0; i < 150_000; i += 1) text += `${i.toString(36)}:\n`;
  return text;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/**
 * The attacker, a separate process (so that its own work never delays the test's ListJobs calls):
 * submits each spec `rounds` times and prints, per submit, the milliseconds and the refusal.
 */
const ATTACKER = `
import { readFileSync } from 'node:fs';
import { appMasterClient } from ${JSON.stringify(join(GALAXY_BIN, '..', 'operator-client.js'))};
const [address, token, rounds, ...files] = process.argv.slice(2);
const api = appMasterClient(address, token);
const specs = files.map((f) => readFileSync(f, 'utf8'));
const out = [];
for (let round = 0; round < Number(rounds); round += 1)
  for (const spec of specs) {
    const started = performance.now();
    const error = await api.submitJob({ specJson: spec }).then(() => 'accepted', (e) => String(e));
    out.push({ ms: performance.now() - started, error: error.slice(0, 200) });
  }
api.close();
console.log(JSON.stringify(out));
`;

describe('a flood of keys in a spec', { timeout: 120_000 }, () => {
  it('is refused in well under a second while galaxy job list keeps answering', async () => {
    const json = manyKeysJson();
    const yaml = manyKeysYaml();
    expect(json.keys).toBeGreaterThanOrEqual(150_000);
    expect(Buffer.byteLength(json.text)).toBeLessThanOrEqual(MAX_SPEC_BYTES);
    expect(Buffer.byteLength(yaml)).toBeLessThanOrEqual(MAX_SPEC_BYTES);
    await writeFile(join(base, 'keys.json'), json.text);
    await writeFile(join(base, 'keys.yaml'), yaml);
    await writeFile(join(base, 'attacker.mjs'), ATTACKER);

    // ListJobs, one after another, the whole time: its latency before and during the attack.
    const latencies: { at: number; ms: number }[] = [];
    const state = { listing: true };
    const lister = (async () => {
      while (state.listing) {
        const started = performance.now();
        const jobs = await api.listJobs({}).then((r) => r.jobs);
        latencies.push({ at: Date.now(), ms: performance.now() - started });
        expect(jobs.map((j) => j.name)).toEqual(['hello']);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    const attackStart = Date.now();
    const attack = run(process.execPath, [
      join(base, 'attacker.mjs'),
      appmaster,
      token,
      '10',
      join(base, 'keys.json'),
      join(base, 'keys.yaml'),
    ]);
    const cliRuns = await Promise.all([1, 2].map(() => cli(['job', 'list', '-a', appmaster, '-o', 'json'])));
    const refusals = JSON.parse((await attack).stdout) as { ms: number; error: string }[];
    const attackEnd = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    state.listing = false;
    await lister;

    expect(refusals).toHaveLength(20);
    for (const refusal of refusals)
      expect(refusal.error).toMatch(/GALAXY_E_SPEC_INVALID: spec:1:1: the spec (has more than 20000|is not JSON)/);
    for (const cliRun of cliRuns) {
      expect(cliRun.code, cliRun.stderr).toBe(0);
      expect((JSON.parse(cliRun.stdout) as { name: string }[]).map((j) => j.name)).toEqual(['hello']);
    }
    const ms = refusals.map((r) => r.ms);
    const before = latencies.filter((l) => l.at < attackStart).map((l) => l.ms);
    const during = latencies.filter((l) => l.at >= attackStart && l.at <= attackEnd).map((l) => l.ms);
    console.log(
      `150,000-key spec (${Buffer.byteLength(json.text)} bytes JSON, ${Buffer.byteLength(yaml)} bytes YAML), 20 submits: ` +
        `each refused in at most ${Math.max(...ms).toFixed(0)} ms (p50 ${percentile(ms, 50).toFixed(0)} ms, sending included); ` +
        `ListJobs p99 ${percentile(before, 99).toFixed(1)} ms before (${before.length} calls), ` +
        `p99 ${percentile(during, 99).toFixed(1)} ms during (${during.length} calls, max ${Math.max(...during).toFixed(1)} ms); ` +
        `galaxy job list (a process each) during it: ${cliRuns.map((r) => r.ms).join(' ms, ')} ms`,
    );
    // Linear parsing refuses each in tens of milliseconds of the AppMaster's time; a quadratic one
    // took minutes. The bounds leave room for a loaded 2-core machine (the run above prints the
    // figures; bench numbers belong to benchmarks).
    expect(percentile(ms, 50)).toBeLessThan(1000);
    expect(Math.max(...ms)).toBeLessThan(3000);
    expect(during.length).toBeGreaterThan(10);
    expect(percentile(during, 99)).toBeLessThan(1500);
    expect((await api.listJobs({}).then((r) => r.jobs)).map((j) => j.name)).toEqual(['hello']);
  });
});

describe('a flood of exec output', { timeout: 120_000 }, () => {
  it('returns a bounded, marked result, and the pod keeps pulling', async () => {
    // 300 MiB on stdout and 100 MiB on stderr of 0xff, which is not UTF-8 (each byte decodes to three).
    const taskId = (await api.showJob({ name: 'hello' })).pods[0]?.taskId;
    expect(taskId).toBeTruthy();
    const flood =
      "head -c 300M /dev/zero | tr '\\0' '\\377'; head -c 100M /dev/zero | tr '\\0' '\\377' >&2; echo done >&2";
    const started = Date.now();
    const result = await cli(['job', 'exec', 'hello', 'hello-0', '-a', appmaster, '--timeout', '60', '--', flood]);
    console.log(`an exec printing 400 MiB answered in ${Date.now() - started} ms`);
    expect(result.code, result.stderr.slice(-300)).toBe(0);
    for (const [stream, printed] of [
      [result.stdout, 300],
      [result.stderr, 100],
    ] as const) {
      expect(Buffer.byteLength(stream)).toBeLessThanOrEqual(MAX_EXEC_OUTPUT_BYTES);
      const note = /\[galaxy: output truncated to 262144 bytes; (\d+) bytes were printed\]\n$/.exec(stream);
      expect(note, stream.slice(-200)).not.toBeNull();
      expect(Number(note?.[1])).toBeGreaterThanOrEqual(printed * 1024 * 1024);
    }
    // The pod's pulls carried that and keep working.
    const after = await cli(['job', 'exec', 'hello', 'hello-0', '-a', appmaster, '--', 'echo', 'pulls still work']);
    expect(after).toMatchObject({ code: 0, stdout: 'pulls still work\n' });
    // The same container throughout: the pod was never given up on.
    expect((await api.showJob({ name: 'hello' })).pods[0]?.taskId).toBe(taskId);
  });

  it("caps a pod's waiting execs", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.execPod({ name: 'hello', podId: 'hello-0', command: 'sleep 2', timeoutS: 10 }).then(
          (r) => `exit ${r.exitCode}`,
          (e: unknown) => String(e),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'exit 0')).toHaveLength(4);
    expect(
      outcomes.filter((o) => /GALAXY_E_LIMIT_EXCEEDED: pod hello-0 already has 4 execs waiting/.test(o)),
    ).toHaveLength(1);
  });
});

describe('a spec too large for the coordinator', { timeout: 60_000 }, () => {
  it('is refused at submit with the limit named, and nothing of it is stored', async () => {
    const env = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`V${i}`, 'x'.repeat(4000)]));
    const spec = {
      name: 'big',
      replicas: 1,
      resources: { cpu: { millicores: 100 }, memory: { hard: '64Mi' } },
      package: { source: 'file:///nowhere/big.tar.gz', version: '1', sha256: 'a'.repeat(64) },
      commands: { start: 'sleep 1000' },
      env,
    };
    const file = join(base, 'big.json');
    await writeFile(file, JSON.stringify(spec));
    const result = await cli(['job', 'submit', file, '-a', appmaster]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /GALAXY_E_TOO_LARGE: job big would take about \d+ bytes in the coordinator .* at most 1000000 bytes \(ZooKeeper's jute.maxbuffer, 1 MiB by default\)/,
    );
    expect((await api.listJobs({}).then((r) => r.jobs)).map((j) => j.name)).toEqual(['hello']);
    expect(existsSync(join(workDir, 'coord', 'tree', 'galaxy', 'appmaster', 'jobs', 'big'))).toBe(false);
  });
});
