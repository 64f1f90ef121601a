/**
 * Draining a machine end to end: a real master, two real agents (Linux containers when the host
 * allows), the real AppMaster running the hello service with real AppWorkers. `drain` on the
 * agent holding pods makes the AppMaster move them to the other agent one at a time (deploy.step
 * = 1): the job never has more than one pod out of service, nothing lands on the draining agent,
 * and in the end every pod runs healthy elsewhere while the drained agent is offered to nobody.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';

import { renderJob } from '../../cli/job-view.js';
import { operatorClient, type Operator, appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import { autoIsolation } from '../../cli/up.js';
import { packageRoot } from '../../core/paths.js';
import { createPackage } from '../../frameworks/appmaster/appworker/package.js';
import { runFramework, type FrameworkHandle } from '../../frameworks/host/host.js';
import { startMaster, type Master } from '../../master/master.js';
import type { JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { eventually } from '../helpers/async-queue.js';
import { packagesVolume } from '../helpers/packages.js';
import { killWithEnv } from '../helpers/processes.js';

const REPLICAS = 3;
const isolation = autoIsolation();
const tag = randomBytes(4).toString('hex');
let workDir = '';
let master: Master;
const agents: Agent[] = [];
let appmaster: FrameworkHandle;
let api: AppMasterApi;
let op: Operator;

const healthy = (job: JobStatus) => job.pods.filter((p) => p.phase === 'running' && p.health === 'healthy');

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-drain-'));
  await mkdir(join(workDir, 'packages'));
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100 },
  });
  for (const [i, ports] of ['20000-20499', '20500-20999'].entries()) {
    const agent = await startAgent({
      master: master.address,
      workDir: join(workDir, `agent${i}`),
      hostname: `drain-host-${i}`,
      resources: `cpus:4;mem:4GiB;disk:4GiB;ports:[${ports}]`,
      isolation,
      cgroupRoot: `galaxy-drain-test-${tag}-${i}`,
      allowedHostPaths: join(workDir, 'packages'),
      logLevel: 'silent',
    });
    agents.push(agent);
    await eventually(() => agent.connected, 5000, `agent ${i} to register`);
  }
  appmaster = await runFramework('appmaster', {
    master: master.address,
    options: { listen: '127.0.0.1:0', coordinator: `local:${join(workDir, 'coord')}` },
  });
  api = appMasterClient(appmaster.framework.endpoint ?? '');
  op = operatorClient(master.address);
}, 60_000);

afterAll(async () => {
  op.close();
  api.close();
  await appmaster.stop();
  for (const agent of agents) await agent.stop();
  await master.stop();
  for (const i of [0, 1]) killWithEnv(`GALAXY_SANDBOX=${join(workDir, `agent${i}`)}`);
  if (isolation !== '') {
    const driver = detectCgroupDriver();
    for (const i of [0, 1])
      await driver.remove(`galaxy-drain-test-${tag}-${i}`, ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']);
  }
  await rm(workDir, { recursive: true, force: true });
}, 30_000);

describe('drain', { timeout: 90_000 }, () => {
  it('moves the pods off a drained agent one at a time, following deploy.step', async () => {
    const packages = join(workDir, 'packages');
    const pkg = await createPackage(join(packageRoot(), 'examples', 'hello-service'), join(packages, 'hello.tar.gz'));
    const spec = {
      name: `drain-${tag}`,
      replicas: REPLICAS,
      ports: [{ name: 'http' }],
      resources: { cpu: { millicores: 100, excess: true }, memory: { hard: '128Mi' } },
      package: { source: pkg.url, version: '1.0.0', sha256: pkg.sha256 },
      volumes: [packagesVolume(packages)],
      commands: { start: 'exec node server.mjs' },
      health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 3, failures: 2 },
      deploy: { step: 1, intervalS: 1, stopTimeoutS: 2, deployTimeoutS: 60 },
    };
    await api.submitJob({ specJson: JSON.stringify(spec) });
    let job = await eventually(
      async () => {
        const seen = await api.showJob({ name: spec.name });
        return healthy(seen).length === REPLICAS && seen;
      },
      45_000,
      'all pods healthy',
    );
    // Drain the agent holding the most pods.
    const count = (agentId: string) => job.pods.filter((p) => p.agentId === agentId).length;
    const [first, second] = agents.map((a) => a.agentId);
    const drained = count(first ?? '') >= count(second ?? '') ? (first ?? '') : (second ?? '');
    const moving = count(drained);
    expect(moving).toBeGreaterThan(0);
    await op.setAgentMode({ agentId: drained, mode: 'draining' });

    let fewestHealthy = REPLICAS;
    let last: JobStatus = job;
    try {
      job = await eventually(
        async () => {
          last = await api.showJob({ name: spec.name });
          fewestHealthy = Math.min(fewestHealthy, healthy(last).length);
          return (
            last.pods.length === REPLICAS &&
            healthy(last).length === REPLICAS &&
            last.pods.every((p) => p.agentId !== drained) &&
            last
          );
        },
        60_000,
        'every pod healthy off the drained agent',
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last seen:\n${renderJob(last, 'table')}`, { cause: error });
    }
    // deploy.step = 1: never more than one pod out of service while the others moved.
    expect(fewestHealthy).toBeGreaterThanOrEqual(REPLICAS - 1);
    const listed = await op.listAgents({}).then((r) => r.agents);
    expect(listed.find((a) => a.info?.id === drained)).toMatchObject({ mode: 'draining', tasks: 0 });
    console.log(`moved ${moving} pod(s) off ${drained}; fewest healthy during the drain: ${fewestHealthy}`);
    await api.removeJob({ name: spec.name });
  });
});
