import { describe, expect, it } from 'vitest';
import type { DiskResource, Offer } from '../../../proto/gen/galaxy/v1/common.js';
import { disksOf } from '../../../core/disks.js';
import { context, jobSpec, offer } from './fixtures.js';
import { placePods } from './place.js';
import { podVolumes } from './resources.js';
import { keptDisks, pickDisks } from './disks.js';

const GiB = 1024 ** 3;

function disk(name: string, size: number, medium = 'ssd', capacity = size): DiskResource {
  return { name, medium, size, capacity, exclusive: false };
}

/** An offer with named disks (their bytes also in `disk`, as agents report them). */
function diskOffer(id: string, disks: DiskResource[]): Offer {
  const o = offer({ id });
  const resources = o.resources ?? offer({ id }).resources;
  if (!resources) throw new Error('offer without resources');
  const bytes = disks.reduce((s, d) => s + d.size, 0);
  return { ...o, resources: { ...resources, disk: resources.disk + bytes, namedDisks: { disks } } };
}

const vol = (fields: Record<string, unknown>) => ({
  kind: 'disk' as const,
  path: 'data',
  medium: 'ssd' as const,
  size: GiB,
  ...fields,
});

describe('pickDisks', () => {
  it('puts each volume on the tightest disk of its medium with room', () => {
    const free = [disk('big', 100 * GiB), disk('small', 2 * GiB), disk('h', 100 * GiB, 'hdd')];
    const spec = jobSpec({
      volumes: [vol({ name: 'a' }), vol({ name: 'b', path: 'b', medium: 'hdd', size: 5 * GiB })],
    });
    const pick = pickDisks(
      spec.volumes.filter((v) => v.kind === 'disk'),
      free,
    );
    expect(pick).toMatchObject({
      ok: true,
      shares: [
        { name: 'small', size: GiB },
        { name: 'h', size: 5 * GiB },
      ],
    });
  });

  it('gives an exclusive volume a whole untouched disk, its whole capacity', () => {
    const free = [disk('used', 50 * GiB, 'ssd', 100 * GiB), disk('whole', 20 * GiB)];
    const spec = jobSpec({ volumes: [vol({ exclusive: true, size: 10 * GiB })] });
    const pick = pickDisks(
      spec.volumes.filter((v) => v.kind === 'disk'),
      free,
    );
    expect(pick).toMatchObject({ ok: true, shares: [{ name: 'whole', size: 20 * GiB, exclusive: true }] });
    const none = pickDisks(
      spec.volumes.filter((v) => v.kind === 'disk'),
      [free[0] as DiskResource],
    );
    expect(none).toEqual({ ok: false, reason: 'no whole ssd disk of 10GiB free' });
  });

  it('names the medium that is missing', () => {
    const spec = jobSpec({ volumes: [vol({ medium: 'tmpfs', size: 2 * GiB })] });
    expect(
      pickDisks(
        spec.volumes.filter((v) => v.kind === 'disk'),
        [disk('s', 100 * GiB)],
      ),
    ).toEqual({
      ok: false,
      reason: 'no tmpfs disk with 2GiB free',
    });
  });
});

describe('placePods with disk volumes', () => {
  it('places on an agent with a fitting disk, with the shares in the resources and volumes', () => {
    const spec = jobSpec({ volumes: [vol({ name: 'data', persistent: true })] });
    const offers = [diskOffer('o1', [disk('h', 100 * GiB, 'hdd')]), diskOffer('o2', [disk('s1', 10 * GiB)])];
    const placement = placePods([{ job: 'kv', podId: 'kv-0', spec }], offers, context());
    const [a] = placement.assignments;
    expect(a?.offerId).toBe('o2');
    expect(disksOf(a?.resources ?? offers[0]?.resources ?? ({} as never))).toMatchObject([{ name: 's1', size: GiB }]);
    expect(a?.resources.disk).toBe(GiB);
    expect(podVolumes(spec, 'kv-0', a?.resources)).toMatchObject([
      { diskName: 's1', sizeBytes: GiB, diskPersistent: true, diskVolumeId: 'kv-0/data' },
    ]);
    expect(keptDisks(spec.volumes, disksOf(a?.resources ?? ({} as never)))).toEqual({ data: 's1' });
  });

  it('counts shares within a round: a second pod does not get a disk the first filled', () => {
    const spec = jobSpec({ volumes: [vol({ size: 6 * GiB })] });
    const offers = [diskOffer('o1', [disk('s1', 10 * GiB)])];
    const demands = [0, 1].map((i) => ({ job: 'kv', podId: `kv-${i}`, spec }));
    const placement = placePods(demands, offers, context());
    expect(placement.assignments).toHaveLength(1);
    expect(placement.pending.get('kv')).toEqual([{ reason: 'no ssd disk with 6GiB free', hosts: 1 }]);
  });

  it('brings a pod back to the agent and disk its persistent volumes are kept on', () => {
    const spec = jobSpec({ volumes: [vol({ name: 'data', persistent: true })] });
    const offers = [diskOffer('o1', [disk('s1', 10 * GiB)]), diskOffer('o2', [disk('s2', 10 * GiB)])];
    const kept = { agentId: 'agent-o2', disks: { data: 's2' } };
    const placement = placePods([{ job: 'kv', podId: 'kv-0', spec, kept }], offers, context());
    expect(placement.assignments.map((a) => a.offerId)).toEqual(['o2']);
    const away = placePods([{ job: 'kv', podId: 'kv-0', spec, kept }], [offers[0] as Offer], context());
    expect(away.pending.get('kv')).toEqual([
      { reason: 'persistent volumes are kept on agent agent-o2, which offers nothing', hosts: 0 },
    ]);
  });

  it("gives an offer's held bytes to the pod whose kept volume they hold, and to no other", () => {
    const held = { frameworkId: 'fw', volumeId: 'kv-0.u/data', disk: 's1', sizeBytes: 2 * GiB, exclusive: false };
    const o = { ...diskOffer('o1', [disk('s1', 3 * GiB, 'ssd', 3 * GiB)]), agentId: 'a1', heldVolumes: [held] };
    const spec = jobSpec({ volumes: [vol({ name: 'data', size: 2 * GiB, persistent: true })] });
    const other = { job: 'web', podId: 'web-0', spec };
    // Another pod sees 1GiB free on s1: its 2GiB volume does not fit.
    const refused = placePods([other], [o], context());
    expect(refused.assignments).toEqual([]);
    expect(refused.pending.get('web')?.[0]?.reason).toBe('no ssd disk with 2GiB free');
    // The pod the bytes are held for goes there, before or after another one.
    const kept = { agentId: 'a1', disks: { data: 's1' }, keys: ['kv-0.u/data'] };
    const placed = placePods([other, { job: 'kv', podId: 'kv-0', spec, kept }], [o], context());
    expect(placed.assignments.map((a) => a.podId)).toEqual(['kv-0']);
    expect(disksOf(placed.assignments[0]?.resources ?? ({} as never))).toMatchObject([{ name: 's1', size: 2 * GiB }]);
  });
});
