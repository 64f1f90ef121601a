/**
 * Held volumes on a real in-process master over gRPC (docs/disks.md, "Held volumes"), driven by a
 * raw agent with a 64MiB ssd disk and a raw framework: the agent's report of a kept 40MiB volume
 * makes the framework's offers carry it (its bytes marked for that volume); a forged report —
 * an unknown disk, a size beyond the disk, a key twice, more than the disk holds, another
 * framework's malformed id — is refused whole: an event and a log line, and nothing changes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withDisks } from '../../core/disks.js';
import { parseResources } from '../../core/resources.js';
import type { KeptVolume, Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../../test/helpers/raw-clients.js';
import { clientId } from '../frameworks/role-clients.js';
import { startMaster, type Master } from '../master.js';

const MiB = 1024 ** 2;
const TOTAL = {
  ...parseResources('cpus:4;mem:8GiB;disk:1088MiB;ports:[31000-31009]'),
  ...withDisks([{ name: 'ssd1', medium: 'ssd', size: 64 * MiB, capacity: 64 * MiB, exclusive: false }]),
};

let master: Master;
let agent: RawAgent;
let framework: RawFramework;

const offersOf = (e: Event): Offer[] => (e.event?.$case === 'offers' ? e.event.offers.offers : []);
const ssd = (o: Offer) => o.resources?.namedDisks?.disks.find((d) => d.name === 'ssd1')?.size;

/** Declines every offer the framework holds, so that the next pass offers the agent again. */
async function declineAll(): Promise<void> {
  const ids = framework.events.items.flatMap(offersOf).map((o) => o.id);
  await framework.call({ call: { $case: 'decline', decline: { offerIds: ids, filters: { refuseSeconds: 0 } } } });
}

beforeEach(async () => {
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100, offerTimeoutMs: 0 },
  });
  agent = rawAgent(master.address, { total: TOTAL });
  await agent.registered;
  framework = rawFramework(master.address, { name: 'volhold', user: 'volhold', role: '*' });
  await framework.events.waitFor((e) => offersOf(e).length > 0, 10_000, 'a first offer');
});

afterEach(async () => {
  agent.close();
  framework.close();
  await master.stop();
});

describe('an agent report of kept volumes on the master', () => {
  it('holds a reported volume for its framework, and refuses forged reports changing nothing', async () => {
    const agentId = await agent.registered;
    const fid = await framework.frameworkId;
    const volume: KeptVolume = {
      frameworkId: fid,
      volumeId: 'kv-0.abc/data',
      disk: 'ssd1',
      sizeBytes: 40 * MiB,
      exclusive: false,
    };
    const report = (volumes: KeptVolume[]) => {
      agent.send({ message: { $case: 'keptVolumes', keptVolumes: { volumes } } });
    };

    report([volume]);
    await declineAll();
    const held = await framework.events.waitFor(
      (e) => offersOf(e).some((o) => o.heldVolumes.length > 0),
      10_000,
      'an offer carrying the held volume',
    );
    const offer = offersOf(held).find((o) => o.heldVolumes.length > 0);
    expect(offer?.heldVolumes).toEqual([volume]);
    expect(ssd(offer as Offer)).toBe(64 * MiB);

    const before = {
      kept: structuredClone(master.ctx.agents.get(agentId)?.keptVolumes),
      holds: master.ctx.allocator.heldVolumes?.(clientId(fid, '*'), agentId),
    };
    expect(before.kept).toEqual([volume]);
    expect(before.holds).toHaveLength(1);
    const forged: [string, KeptVolume[]][] = [
      ['unknown disk', [{ ...volume, disk: 'nvme0' }]],
      ['oversized', [{ ...volume, sizeBytes: 65 * MiB }]],
      ['duplicate key', [volume, { ...volume }]],
      ['over the capacity', [volume, { ...volume, volumeId: 'kv-1.abc/data' }]],
      ['malformed framework', [volume, { ...volume, frameworkId: 'fw/../other' }]],
    ];
    for (const [what, volumes] of forged) {
      const refusals = master.ctx.events.query({ kind: 'agent.kept-volumes-refused' }).length;
      report(volumes);
      await expect
        .poll(() => master.ctx.events.query({ kind: 'agent.kept-volumes-refused' }).length, { timeout: 5000 })
        .toBe(refusals + 1);
      expect(master.ctx.agents.get(agentId)?.keptVolumes, what).toEqual(before.kept);
      expect(master.ctx.allocator.heldVolumes?.(clientId(fid, '*'), agentId), what).toEqual(before.holds);
    }
    const reasons = master.ctx.events.query({ kind: 'agent.kept-volumes-refused' }).map((e) => e.message);
    expect(reasons.join('\n')).toMatch(/nvme0.*\n.*bigger than disk ssd1.*\n.*named twice.*\n.*exceed its capacity/s);

    // The volume destroyed (the agent reports none): the framework's offers carry no hold.
    report([]);
    await expect
      .poll(() => master.ctx.allocator.heldVolumes?.(clientId(fid, '*'), agentId), { timeout: 5000 })
      .toEqual([]);
  });
});
