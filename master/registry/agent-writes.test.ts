/**
 * A master admitting many agents at once writes their registry keys a few at a time
 * (`AGENT_WRITES_AT_ONCE`), so its other writes — here a framework's registration, which its
 * SUBSCRIBED waits for — are not queued behind every one of them (issue 16: 12,397 agents'
 * writes made a framework's UPDATE_FRAMEWORK time out). The coordinator below writes one key at
 * a time, slowly, as the local coordinator's lock does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../../test/helpers/raw-clients.js';
import { Master, startMaster } from '../master.js';
import { AGENT_WRITES_AT_ONCE } from './registry.js';

const AGENTS = 24;
const PUT_MS = 40;

/** One put at a time, each taking {@link PUT_MS}; records the keys in the order written and the most agent puts waiting at once. */
class SlowCoordinator extends MemoryCoordinator {
  readonly written: string[] = [];
  agentPutsInFlight = 0;
  mostAgentPutsInFlight = 0;
  private queue: Promise<unknown> = Promise.resolve();

  override put(key: string, value: string, options?: { expectedVersion?: number }): Promise<number> {
    const agent = key.startsWith('/galaxy/master/agents/');
    if (agent) {
      this.agentPutsInFlight += 1;
      this.mostAgentPutsInFlight = Math.max(this.mostAgentPutsInFlight, this.agentPutsInFlight);
    }
    const run = this.queue.then(async () => {
      await new Promise((resolve) => setTimeout(resolve, PUT_MS));
      const version = await super.put(key, value, options);
      this.written.push(key);
      if (agent) this.agentPutsInFlight -= 1;
      return version;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

let master: Master | undefined;
const open: (RawAgent | RawFramework)[] = [];

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await master?.stop();
  master = undefined;
});

describe("the registry's writes of admitted agents", () => {
  it('go a few at a time, so that a framework registering meanwhile is stored before most of them', async () => {
    const coordinator = new SlowCoordinator();
    master = await startMaster({
      listen: '127.0.0.1:0',
      insecureNoAuth: true,
      logLevel: 'silent',
      timings: { allocationIntervalMs: 100, offerTimeoutMs: 0 },
      registry: coordinator,
    });
    const address = master.address;
    const agents = Array.from({ length: AGENTS }, (_, i) => rawAgent(address, { hostname: `replay-reg-${i}` }));
    open.push(...agents);
    await Promise.all(agents.map((a) => a.registered));
    const framework = rawFramework(address, { name: 'replay-reg-fw', user: 'alice' });
    open.push(framework);
    const id = await framework.frameworkId;
    const frameworkAt = coordinator.written.indexOf(`/galaxy/frameworks/${id}`);
    const agentsBefore = coordinator.written
      .slice(0, frameworkAt)
      .filter((k) => k.startsWith('/galaxy/master/agents/')).length;
    // Every agent registered before the framework subscribed; their keys queued first, but only
    // AGENT_WRITES_AT_ONCE of them (and those already written meanwhile) were ahead of it.
    expect(agentsBefore).toBeLessThan(AGENTS);
    expect(coordinator.mostAgentPutsInFlight).toBeLessThanOrEqual(AGENT_WRITES_AT_ONCE);
    // And every agent's key is written in the end.
    const deadline = Date.now() + 15_000;
    while (coordinator.written.filter((k) => k.startsWith('/galaxy/master/agents/')).length < AGENTS) {
      if (Date.now() > deadline) throw new Error('the agents were not all stored');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(new Set(await coordinator.list('/galaxy/master/agents')).size).toBe(AGENTS);
  }, 30_000);
});
