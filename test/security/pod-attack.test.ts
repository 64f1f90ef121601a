/**
 * The attack of issue 14, step by step, on `galaxy up` (real containers as root): a user holding
 * only `job:create`, `job:list` and `container:create` submits a copy of the hello service and
 * runs commands in its pod with `galaxy job exec`. Before the sandbox that printed `uid=0(root)`,
 * the admin token and the coordinator's user records. Now (docs/security.md, Part 2):
 *
 * - the command runs as the pod's service user (container uid 1000), on a host uid of its own;
 * - `galaxy up`'s work dir (admin token, coordinator, the agent's checkpoints) does not exist;
 * - the pod's token is nowhere it can read: not in its environment, not in any readable
 *   /proc/<pid>/environ (the AppWorker's is denied to it), not in any file it can read;
 * - the AppWorker (container root) and the service are unprivileged host uids.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GALAXY_BIN, galaxy, processesWithEnv, stopAll, type GalaxyProcess } from '../helpers/processes.js';
import { eventually } from '../helpers/async-queue.js';
import { readyAddresses, upArgs } from '../helpers/up-args.js';

const run = promisify(execFile);
let base = '';
let workDir = '';
let up: GalaxyProcess;
let master = '';
let appmaster = '';
let mallory = '';

/**
 * Runs the CLI (its output stays in this test: a new user's token is printed once, on stdout, by
 * design, and must not reach the suite's audited log).
 */
async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', GALAXY_LOG_LEVEL: 'warn', ...env };
  if (!('GALAXY_TOKEN' in env)) delete clean.GALAXY_TOKEN;
  try {
    const { stdout, stderr } = await run(process.execPath, [GALAXY_BIN, ...args], { env: clean, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}
const asAdmin = () => ({ GALAXY_TOKEN_FILE: join(workDir, 'admin.token') });
const asMallory = () => ({ GALAXY_TOKEN: mallory });

/** Host uids (real, effective, saved, fs) of `pid`. */
function hostUids(pid: number): number[] {
  const line = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).map(Number);
}

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'galaxy-attack-')));
  workDir = join(base, '.galaxy');
  // Ports of its own: other clusters on this machine use the default range.
  up = galaxy(upArgs(workDir, 1, ['--resources', 'ports:[22230-22249]']));
  const ready = await up.lines.waitFor((l) => l.startsWith('ready'), 90_000, 'the ready line');
  ({ master, appmaster } = readyAddresses(ready));
  const added = await cli(['user', 'add', 'mallory', '--master', master], asAdmin());
  expect(added.code).toBe(0);
  mallory = added.stdout.trim();
  const granted = await cli(
    [
      'grant',
      'mallory',
      'default',
      'job:create',
      'job:list',
      'container:create',
      'band:production',
      '--master',
      master,
    ],
    asAdmin(),
  );
  expect(granted.code, granted.stderr).toBe(0);
}, 150_000);

afterAll(async () => {
  await stopAll();
  if (base) await rm(base, { recursive: true, force: true });
});

describe('the attack of issue 14 on galaxy up', { timeout: 120_000 }, () => {
  it('fails at every step: no root, no admin token, no coordinator, no pod token', async () => {
    // A copy of the example service, submitted by mallory (its package is galaxy up's own).
    const packages = join(workDir, 'packages');
    const archive = join(packages, 'hello-service-1.0.0.tar.gz');
    const sha256 = createHash('sha256')
      .update(await readFile(archive))
      .digest('hex');
    const spec = join(base, 'evil.json');
    await writeFile(
      spec,
      JSON.stringify({
        name: 'evil',
        replicas: 1,
        ports: [{ name: 'http' }],
        resources: { cpu: { millicores: 100, excess: true }, memory: { hard: '128Mi' } },
        package: { source: `file://${archive}`, version: '1.0.0', sha256 },
        volumes: [{ kind: 'bind', path: packages, hostPath: packages }],
        commands: { start: 'exec node server.mjs' },
        health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 3, failures: 2 },
      }),
    );
    const submitted = await cli(['job', 'submit', spec, '--wait', '-a', appmaster], asMallory());
    expect(submitted.code, submitted.stderr).toBe(0);

    const exec = (command: string) =>
      cli(['job', 'exec', 'evil', 'evil-0', '-a', appmaster, '--', command], asMallory());
    // Step 1: who am I?
    const id = await exec('id -u; id -un; cat /proc/self/uid_map');
    expect(id.stdout.split('\n').slice(0, 2)).toEqual(['1000', 'galaxy']);
    expect(id.stdout).not.toMatch(/^0$/m);
    // Step 2: galaxy up's admin token, the coordinator's user records, the agent's checkpoints.
    const secrets = await exec(
      `cat ${workDir}/admin.token; ls ${workDir}/coord; ls ${workDir}/agent/meta; ls ${workDir} ${workDir}/agent`,
    );
    for (const path of ['admin.token', 'coord', 'agent/meta'])
      expect(
        secrets.stderr.split('\n').find((l) => l.includes(`${workDir}/${path}`)),
        path,
      ).toMatch(/No such file or directory$/);
    expect(secrets.stdout).not.toMatch(/glx_/);
    // What is there: the one directory bound in, and the empty path to the pod's own sandbox.
    expect(secrets.stdout.trim().split('\n')).toEqual([
      `${workDir}:`,
      'agent',
      'packages',
      '',
      `${workDir}/agent:`,
      'sandboxes',
    ]);
    // Step 3: the pod's own token — environment, every process's environ, every readable file.
    const hunt = await exec(
      [
        'echo "env: $(env | grep -c GALAXY_POD_TOKEN)"',
        // The worker: `node …/appworker/bin.js` (this shell's own command line names it too, not last).
        'for p in /proc/[0-9]*; do if tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "appworker/bin.js $"; then cat $p/environ >/dev/null 2>&1 && echo "read worker $p" || echo "denied worker $p"; fi; done',
        'cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"',
        'find / \\( -path /proc -o -path /sys -o -path /usr \\) -prune -o -type f -readable -print 2>/dev/null | grep -v "/node_modules/\\|/dist/" | xargs cat 2>/dev/null',
      ].join('; '),
    );
    expect(hunt.stdout).toMatch(/^env: 0$/m);
    expect(hunt.stdout).toMatch(/^denied worker \/proc\/\d+$/m);
    expect(hunt.stdout).not.toMatch(/^read worker/m);
    // The real token, from the AppWorker's environment on the host, appears nowhere in what it read.
    // (Its container's helper names the same command after its own options: the worker is node's.)
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
    const workerPid = processesWithEnv('GALAXY_POD_ID=evil-0').find(
      (pid) => argv(pid)[0] === process.execPath && argv(pid).at(-1)?.endsWith('/appworker/bin.js'),
    );
    expect(workerPid).toBeDefined();
    const environ = readFileSync(`/proc/${workerPid ?? 0}/environ`, 'latin1').split('\0');
    const token = environ.find((v) => v.startsWith('GALAXY_POD_TOKEN='))?.slice('GALAXY_POD_TOKEN='.length) ?? '';
    expect(token).toMatch(/^glx_/);
    expect(hunt.stdout.length).toBeGreaterThan(1000); // it did read a lot
    expect(hunt.stdout).not.toContain(token);
    expect(hunt.stdout).not.toMatch(/glx_[A-Za-z0-9_-]{43}/);
    // Step 4, on the host: the worker and the service are unprivileged host uids, a block apart.
    const service = await eventually(
      () => processesWithEnv('GALAXY_POD_ID=evil-0').find((pid) => argv(pid).join(' ') === 'node server.mjs'),
      5000,
      'the service process',
    );
    const [workerUid] = hostUids(workerPid ?? 0);
    expect(workerUid).toBeGreaterThanOrEqual(1_000_000);
    expect(hostUids(service)).toEqual([1, 2, 3, 4].map(() => (workerUid ?? 0) + 1000));
  });

  it('stops cleanly afterwards', async () => {
    expect(await up.stop('SIGINT', 20_000)).toBe(0);
    expect(processesWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`)).toEqual([]);
  });
});
