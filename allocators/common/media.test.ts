/**
 * Quotas per disk medium (docs/disks.md, "Quotas per medium"): a role's limit and guarantee of
 * `ssd`, `hdd` or `tmpfs` bytes cut the named disk shares of its offers as `cpus` cuts cpus, held
 * volumes and running tasks count by the medium their agent gave the disk, and the cut never hands
 * out sandbox disk that is really another disk's bytes.
 */
import { describe, expect, it } from 'vitest';
import { disksOf, withDisks, type DiskResource } from '../../core/disks.js';
import { parseResources, sandboxDisk, validateResources } from '../../core/resources.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { DrfAllocator } from '../drf/drf-allocator.js';
import { cutDisks, MEDIA_OFFSET } from './media.js';

const GiB = 1024 ** 3;
const disk = (name: string, medium: string, size: number): DiskResource => ({
  name,
  medium,
  size,
  capacity: size,
  exclusive: false,
});
/** Bytes per medium of `r`'s disk shares. */
const media = (r: Resources | undefined) => {
  const out: Record<string, number> = {};
  for (const d of disksOf(r ?? parseResources('cpus:0'))) out[d.medium] = (out[d.medium] ?? 0) + d.size;
  return out;
};

/**
 * One agent: 4 cpus, 8GiB, a 2GiB sandbox and disks ssd1 (10GiB), ssd2 (4GiB), hdd1 (20GiB);
 * `held` (framework → resources) already runs there, and framework `f` of role `team` exists.
 */
function cluster(held: ReadonlyMap<string, Resources> = new Map()) {
  const allocator = new DrfAllocator();
  allocator.addFramework({ id: 'f', name: 'f', role: 'team' }, new Map(), true);
  const disks = [disk('ssd1', 'ssd', 10 * GiB), disk('ssd2', 'ssd', 4 * GiB), disk('hdd1', 'hdd', 20 * GiB)];
  const total = { ...parseResources('cpus:4;mem:8GiB;disk:36GiB'), ...withDisks(disks) };
  allocator.addAgent({ id: 'a1', hostname: 'a1', total, attributes: [], pool: 'default' }, held);
  return allocator;
}

/** A task with `size` bytes on ssd1, its share said to be of `medium`. */
const task = (size: number, medium = 'ssd'): Resources => ({
  ...parseResources(`cpus:1;mem:1GiB;disk:${size / GiB}GiB`),
  ...withDisks([{ ...disk('ssd1', medium, size), capacity: 10 * GiB }]),
});

describe('quotas per disk medium', () => {
  it('cuts a limited role’s disk shares of that medium and leaves other media whole', () => {
    const allocator = cluster();
    allocator.setQuota('team', { limit: { ssd: 6 * GiB } });
    const [offer] = allocator.allocate();
    expect(media(offer?.resources)).toEqual({ ssd: 6 * GiB, hdd: 20 * GiB });
    // The biggest ssd disk first, so a 6GiB volume still fits on one disk.
    expect(disksOf(offer?.resources ?? task(0)).find((d) => d.medium === 'ssd')).toMatchObject({
      name: 'ssd1',
      size: 6 * GiB,
    });
    // The sandbox part is the agent's real sandbox disk, not the 8GiB of ssd the cut kept back.
    expect(offer && sandboxDisk(offer.resources)).toBe(2 * GiB);
    expect(() => {
      if (offer) validateResources(offer.resources, 'offer');
    }).not.toThrow();
  });

  it('offers named disks at all when a quota is set (the tenancy walk used to drop them)', () => {
    const allocator = cluster();
    allocator.setQuota('other', { limit: { cpus: 1000 } });
    expect(media(allocator.allocate()[0]?.resources)).toEqual({ ssd: 14 * GiB, hdd: 20 * GiB });
  });

  it('counts what a role’s tasks hold of the medium against its limit, and frees it when they end', () => {
    const allocator = cluster(new Map([['f', task(5 * GiB)]]));
    allocator.setQuota('team', { limit: { ssd: 6 * GiB } });
    const offer = allocator.allocate().find((o) => o.frameworkId === 'f');
    expect(media(offer?.resources)).toEqual({ ssd: 1 * GiB, hdd: 20 * GiB });
    if (offer) allocator.recoverResources('f', 'a1', offer.resources, { refuseSeconds: 0 });
    // The task ends: the role may hold 6GiB of ssd again.
    allocator.recoverResources('f', 'a1', task(5 * GiB));
    expect(media(allocator.allocate()[0]?.resources)).toEqual({ ssd: 6 * GiB, hdd: 20 * GiB });
  });

  it('counts a held volume and a task by their disk’s medium, whatever medium a report gives', () => {
    const allocator = cluster();
    allocator.setQuota('team', { limit: { ssd: 6 * GiB, hdd: 30 * GiB } });
    allocator.setVolumeHolds('a1', [{ frameworkId: 'f', key: 'f/kv-0/data', disk: 'ssd2', size: 4 * GiB }], new Set());
    expect(media(allocator.allocate()[0]?.resources)).toEqual({ ssd: 2 * GiB, hdd: 20 * GiB });

    // A re-registering agent says a task's 5GiB share of ssd1 is "hdd": it is ssd all the same.
    const liar = cluster(new Map([['f', task(5 * GiB, 'hdd')]]));
    liar.setQuota('team', { limit: { ssd: 6 * GiB } });
    expect(media(liar.allocate()[0]?.resources)).toEqual({ ssd: 1 * GiB, hdd: 20 * GiB });
  });

  it('sets a medium’s unmet guarantee aside from other roles while its framework is away', () => {
    const allocator = new DrfAllocator();
    const disks = [disk('ssd1', 'ssd', 10 * GiB), disk('ssd2', 'ssd', 4 * GiB), disk('hdd1', 'hdd', 20 * GiB)];
    const total = { ...parseResources('cpus:4;mem:8GiB;disk:36GiB'), ...withDisks(disks) };
    allocator.addAgent({ id: 'a1', hostname: 'a1', total, attributes: [], pool: 'default' }, new Map());
    allocator.setQuota('db', { guarantee: { ssd: 12 * GiB } });
    allocator.addFramework({ id: 'web', name: 'web', role: 'web' }, new Map(), true);
    const [offer] = allocator.allocate();
    // 14GiB of ssd in all; 12GiB are kept for `db`. hdd is nobody's guarantee.
    expect(media(offer?.resources)).toEqual({ ssd: 2 * GiB, hdd: 20 * GiB });
    if (offer) allocator.recoverResources('web', 'a1', offer.resources, { refuseSeconds: 3600 });
    allocator.addFramework({ id: 'db', name: 'db', role: 'db' }, new Map(), true);
    const db = allocator.allocate().find((o) => o.frameworkId === 'db');
    expect(media(db?.resources).ssd).toBe(14 * GiB);
  });

  it('refuses a malformed medium amount and changes nothing', () => {
    const allocator = cluster();
    allocator.setQuota('team', { limit: { ssd: GiB } });
    expect(() => {
      allocator.setQuota('team', { limit: { hdd: -1 } });
    }).toThrow(/hdd must be a non-negative integer/);
    expect(() => {
      allocator.setQuota('team', { guarantee: { tmpfs: 2 * GiB }, limit: { tmpfs: GiB } });
    }).toThrow(/guarantee of tmpfs exceeds its limit/);
    expect(allocator.quotas()).toEqual([{ role: 'team', limit: { ssd: GiB } }]);
  });
});

describe('cutDisks', () => {
  it('takes no more than allowed per medium and in all, and gives the sandbox only its own bytes', () => {
    const amounts = new Float64Array(7);
    amounts[2] = 9 * GiB; // disk
    amounts[MEDIA_OFFSET] = 8 * GiB; // ssd
    amounts[MEDIA_OFFSET + 1] = 0; // hdd
    const shares = cutDisks(
      [disk('s1', 'ssd', 3 * GiB), disk('s2', 'ssd', 6 * GiB), disk('h1', 'hdd', 5 * GiB), disk('x', 'nvme', GiB)],
      amounts,
      4 * GiB,
    );
    expect(shares.map((d) => [d.name, d.size])).toEqual([
      ['s2', 6 * GiB],
      ['s1', 2 * GiB],
    ]);
    expect([...amounts]).toEqual([0, 0, 9 * GiB, 0, 8 * GiB, 0, 0]);
    // A disk cut to 1GiB in all: no share is bigger than it, and no sandbox bytes past it.
    const small = new Float64Array(7);
    small[2] = GiB;
    small[MEDIA_OFFSET] = 8 * GiB;
    expect(cutDisks([disk('s2', 'ssd', 6 * GiB)], small, 0).map((d) => d.size)).toEqual([GiB]);
    expect(small[2]).toBe(GiB);
  });
});
