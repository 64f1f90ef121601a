/**
 * Attack, from inside a pod of a real `galaxy up` (master, agent running Linux containers,
 * AppMaster; real AppWorkers pulling over gRPC):
 *
 * - looking for cluster secrets in the pod: the AppWorker's environment names the AppMasters and
 *   holds its own pull token, and nothing else of the cluster — no coordinator address (it used to
 *   be there), no admin, user or agent token; the service it runs sees no token at all;
 * - shipping a package whose symlink chain climbs out of the release directory: the AppWorker
 *   refuses it with GALAXY_E_PACKAGE naming the link, the pod reports the failed deploy, and
 *   nothing of it is written anywhere.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppMasterApi } from '../../cli/operator-client.js';
import { findTokens } from '../../core/auth/tokens.js';
import { sha256File } from '../../frameworks/appmaster/appworker/package.js';
import { eventually } from '../helpers/async-queue.js';
import { processesWithEnv } from '../helpers/processes.js';
import { startUpCluster, type UpCluster } from '../helpers/up-cluster.js';
import { writeArchive } from '../helpers/tarballs.js';

let cluster: UpCluster | undefined;
let base = '';
let workDir = '';
let appmaster = '';
let api: AppMasterApi;

beforeAll(async () => {
  // Pods in Linux containers (`--isolation auto`): the boundary under attack is the container's.
  cluster = await startUpCluster('pod-boundary', '[22250-22269]', { isolation: 'auto' });
  ({ base, workDir, appmaster } = cluster);
  api = cluster.clients(cluster.adminToken).appmaster;
}, 120_000);

afterAll(async () => {
  // SIGINT: galaxy up stops its pods (a SIGKILL would leave their containers running, as an agent's does).
  await cluster?.stop();
});

/** Every live process of this cluster's pods: its command line and environment. */
async function podProcesses(): Promise<{ command: string; env: Map<string, string>; raw: string }[]> {
  const found = [];
  for (const pid of processesWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`)) {
    const raw = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    const command = (await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '')).split('\0').join(' ');
    const env = new Map(raw.split('\0').map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)] as const));
    found.push({ command, env, raw });
  }
  return found;
}

/** Paths under `dir` whose name is `name` (relative to `dir`). */
async function named(dir: string, name: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => []);
  return entries.filter((path) => path.split('/').at(-1) === name);
}

describe('a pod of galaxy up', { timeout: 90_000 }, () => {
  it('holds no cluster secret: AppMaster addresses and its own pull token only', async () => {
    const pods = await podProcesses();
    // The worker itself, not the container helper that watches it from the host (its command names both).
    const workers = pods.filter((p) => p.command.includes('appworker') && !p.command.includes('galaxy-init'));
    expect(workers.length).toBeGreaterThan(0);
    const coordinatorDir = join(workDir, 'coord');
    for (const worker of workers) {
      expect(worker.env.get('GALAXY_APPMASTERS')).toBe(appmaster);
      const own = worker.env.get('GALAXY_POD_TOKEN') ?? '';
      expect(own).toMatch(/^glx_/);
      expect(findTokens(worker.raw), 'no credential but its own pull token').toEqual([own]);
      expect([...worker.env.keys()].filter((k) => /COORDINATOR|^GALAXY_TOKEN/.test(k))).toEqual([]);
      expect(worker.raw).not.toMatch(/local:|zk:\/\//);
      expect(worker.raw).not.toContain(coordinatorDir);
    }
    // The service: no token at all, not even the pod's, and no way to the AppMasters' list.
    const job = await api.showJob({ name: 'hello' });
    const pod = job.pods[0]?.podId ?? '';
    const env = await api.execPod({ name: 'hello', podId: pod, command: 'env', timeoutS: 10 });
    expect(env.exitCode, env.stderr).toBe(0);
    expect(env.stdout).toContain('GALAXY_POD_ID=');
    expect(findTokens(env.stdout)).toEqual([]);
    expect(env.stdout).not.toMatch(/GALAXY_POD_TOKEN|GALAXY_APPMASTERS|local:|zk:\/\//);
  });

  it('refuses a package whose link chain climbs out, and writes none of it', async () => {
    const marker = `galaxy-pwned-${randomBytes(4).toString('hex')}`;
    // In galaxy up's packages directory: the one its agent allows pods to bind, read-only.
    const packages = await realpath(join(workDir, 'packages'));
    const archive = await writeArchive(join(packages, 'evil.tgz'), [
      { path: 'server.mjs', body: 'console.log("hello")\n' },
      { path: 'a/', type: 'Directory' },
      { path: 'a/x', type: 'SymbolicLink', linkpath: '..' },
      { path: 'esc', type: 'SymbolicLink', linkpath: 'a/x/a/x/../../../..' },
      { path: `esc/${marker}`, body: 'owned\n' },
    ]);
    await api.submitJob({
      specJson: JSON.stringify({
        name: 'evil',
        replicas: 1,
        resources: { cpu: { millicores: 100 }, memory: { hard: '64Mi' } },
        package: { source: pathToFileURL(archive).href, version: '1', sha256: await sha256File(archive) },
        volumes: [{ kind: 'bind', path: packages, hostPath: packages, readOnly: true }],
        commands: { start: 'exec sleep 60' },
      }),
    });
    const failed = await eventually(
      async () => {
        const pod = (await api.showJob({ name: 'evil' })).pods[0];
        return pod?.phase === 'failed' && pod.message !== '' && pod;
      },
      60_000,
      'the evil pod to report its failed deploy',
    );
    expect(failed.message).toMatch(/GALAXY_E_PACKAGE: .*evil\.tgz was refused: symlink "esc" points outside/);
    expect(await named(base, marker), 'the marker file, anywhere in the cluster').toEqual([]);
    expect(await named('/tmp', marker)).toEqual([]);
    // Its sandbox holds no release, not even a half-unpacked one.
    const agentDir = join(workDir, 'agent');
    const sandbox = (await readdir(agentDir, { recursive: true })).find((path) =>
      path.split('/').at(-1)?.startsWith(`${failed.taskId}-`),
    );
    expect(sandbox, `the sandbox of ${failed.taskId}`).toBeDefined();
    expect(await readdir(join(agentDir, sandbox ?? '', 'releases'))).toEqual([]);
    await api.removeJob({ name: 'evil' });
  });
});
