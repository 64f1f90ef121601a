/**
 * An agent restart keeps the workloads (issue 12): `galaxy agent` stopped with SIGTERM (what
 * `systemctl restart` or an upgrade does) leaves its containers running and its checkpoints in
 * place, and the agent started again re-attaches to them. The pods run in their own network
 * namespaces (the tcp isolator), their ports published by the kernel's rules, not by the agent:
 * the hello service, sampled over HTTP all along, answers every request while the agent is down.
 * Then `galaxy agent shutdown`, with the agent's own credential, kills everything, and the agent
 * exits leaving nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { networkFor } from '../../isolators/tcp/index.js';
import { eventually } from '../helpers/async-queue.js';
import { ChaosCluster } from '../helpers/chaos-cluster.js';
import { containersOf, exitWithin, sampling, served } from '../helpers/chaos-probes.js';
import { machineAddress } from '../helpers/hosts.js';
import { galaxy, processesWithEnv } from '../helpers/processes.js';

const REPLICAS = 2;

let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await ChaosCluster.start({
    name: 'restart',
    sessionMs: 4000,
    masters: 1,
    appmasters: 1,
    ports: '22500-22599',
    isolation: 'cpu,memory,pids,tcp',
    // The workers, in their own network namespaces, pull from the AppMaster on the machine's address.
    appmasterHost: machineAddress(),
  });
  const api = cluster.api(await cluster.leadingAppMaster(10_000));
  await api.submitJob({ specJson: cluster.helloSpec('1.0.0', REPLICAS) });
  await cluster.settled(api, REPLICAS);
}, 150_000);

afterAll(async () => {
  await (cluster as ChaosCluster | undefined)?.stop();
}, 60_000);

/** Sorted pids of every process of the agent's containers (monitors, inits, workers, services). */
function containerPids(): number[] {
  return processesWithEnv(`GALAXY_SANDBOX=${cluster.agentDir}`).sort((a, b) => a - b);
}

/** The agent's task checkpoints (`meta/tasks/<framework>/<task>.json`). */
function checkpoints(): string[] {
  const dir = join(cluster.agentDir, 'meta', 'tasks');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
}

describe('an agent restart', { timeout: 120_000 }, () => {
  it('SIGTERM, then the agent again: every request answered, the same containers and processes', async () => {
    const api = cluster.api(await cluster.leadingAppMaster(10_000));
    const job = await api.showJob({ name: 'hello' });
    const containers = containersOf(job);
    const ports = job.pods.map((p) => p.ports.http ?? 0);
    expect(ports.every((p) => p > 0)).toBe(true);
    const pids = containerPids();
    expect(pids.length).toBeGreaterThanOrEqual(REPLICAS * 3);

    const stopSampling = sampling(() => Promise.all(ports.map((port) => served(port))), 100);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const first = cluster.agent;
    if (!first) throw new Error('no agent');
    expect(await first.stop('SIGTERM', 15_000)).toBe(0);
    expect(first.lines.items.some((l) => l.includes('its containers run on'))).toBe(true);
    // Down for a while: the containers run on, their checkpoints stay.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(containerPids()).toEqual(pids);
    expect(checkpoints()).toHaveLength(REPLICAS);

    const second = await cluster.startAgent();
    await second.lines.waitFor((l) => l.includes('recovered containers'), 30_000, 'the agent to re-attach');
    const master = await cluster.leadingMaster(10_000);
    await eventually(
      async () =>
        (await cluster.withOperator(master, (op) => op.listAgents({}).then((r) => r.agents))).some((a) => a.active),
      30_000,
      'the agent registered again',
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const samples = await stopSampling();

    expect(samples.length).toBeGreaterThan(20);
    const failed = samples.flat().filter((answer) => answer === undefined).length;
    expect(failed, `${failed} of ${samples.length * REPLICAS} requests failed`).toBe(0);
    // Each pod's service answered from one process throughout (its pid in the pod's namespace): never restarted.
    for (const [i] of ports.entries()) expect(new Set(samples.map((sample) => sample[i]?.pid)).size).toBe(1);
    expect(containerPids()).toEqual(pids);
    expect(containersOf(await api.showJob({ name: 'hello' }))).toEqual(containers);
    expect((await cluster.liveTasks(master)).map((t) => t.taskId).sort()).toEqual(containers);
  });

  it('galaxy agent shutdown (the agent’s own credential) kills every container and the agent exits', async () => {
    const agent = cluster.agent;
    if (!agent) throw new Error('no agent');
    const asked = galaxy(['agent', 'shutdown', '--work-dir', cluster.agentDir, '--master', cluster.url]);
    expect(await exitWithin(asked, 30_000), asked.lines.items.join('\n')).toBe(0);
    expect(asked.lines.items.join('\n')).toContain(`kills its ${REPLICAS} task(s)`);
    expect(await exitWithin(agent, 30_000)).toBe(0);
    expect(containerPids()).toEqual([]);
    expect(await detectCgroupDriver().children(cluster.cgroupRoot)).toEqual([]);
    expect(checkpoints(), agent.lines.items.slice(-25).join('\n')).toEqual([]);
    // The agent's networks (namespaces, veths, nftables tables) are all named with its prefix.
    const prefix = networkFor(cluster.cgroupRoot, 'any', 0).netns.slice(0, -8);
    const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
    expect(netns.filter((name) => name.startsWith(prefix))).toEqual([]);
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(prefix);
    const master = await cluster.leadingMaster(10_000);
    await eventually(
      async () => (await cluster.withOperator(master, (op) => op.listAgents({}).then((r) => r.agents))).length === 0,
      10_000,
      'the master to remove the agent',
    );
  });
});
