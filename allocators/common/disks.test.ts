/**
 * Named disks in the allocators' ledger (docs/disks.md): offered whole (every free byte of each
 * disk, as ports are), held per disk name by the framework whose tasks use them, and free again
 * when they are given back; the sum counts in the disk scalar like any disk.
 */
import { describe, expect, it } from 'vitest';
import { disksOf, withDisks, type DiskResource } from '../../core/disks.js';
import { parseResources, subtractResources } from '../../core/resources.js';
import { DrfAllocator } from '../drf/drf-allocator.js';

const GiB = 1024 ** 3;
const disk = (name: string, size: number, capacity: number): DiskResource => ({
  name,
  medium: 'ssd',
  size,
  capacity,
  exclusive: false,
});
const sizes = (disks: readonly DiskResource[]) => disks.map((d) => [d.name, d.size]);

describe('named disks in the ledger', () => {
  it('offers free disk bytes per name, keeps what tasks hold, and frees them again', () => {
    const allocator = new DrfAllocator();
    const total = {
      ...parseResources('cpus:4;mem:8GiB;disk:14GiB'),
      ...withDisks([disk('a', 10 * GiB, 10 * GiB), disk('b', 2 * GiB, 2 * GiB)]),
    };
    allocator.addAgent({ id: 'a1', hostname: 'a1', total, attributes: [], pool: 'default' }, new Map());
    allocator.addFramework({ id: 'f', name: 'f', role: 'f' }, new Map(), true);
    allocator.addFramework({ id: 'g', name: 'g', role: 'g' }, new Map(), true);

    const [offer] = allocator.allocate();
    if (!offer) throw new Error('expected an offer');
    expect(sizes(disksOf(offer.resources))).toEqual([
      ['a', 10 * GiB],
      ['b', 2 * GiB],
    ]);
    // A task with a 3GiB volume on disk a: the rest goes back.
    const task = { ...parseResources('cpus:1;mem:1GiB;disk:3GiB'), ...withDisks([disk('a', 3 * GiB, 10 * GiB)]) };
    allocator.recoverResources(offer.frameworkId, 'a1', subtractResources(offer.resources, task), { refuseSeconds: 0 });

    const next = allocator.allocate().find((o) => o.agentId === 'a1');
    if (!next) throw new Error('expected a second offer');
    expect(sizes(disksOf(next.resources))).toEqual([
      ['a', 7 * GiB],
      ['b', 2 * GiB],
    ]);
    expect(next.resources.disk).toBe(11 * GiB);
    allocator.recoverResources(next.frameworkId, 'a1', next.resources, { refuseSeconds: 0 });

    // The task ends: disk a is whole again.
    allocator.recoverResources(offer.frameworkId, 'a1', task);
    const last = allocator.allocate().find((o) => o.agentId === 'a1');
    expect(sizes(disksOf(last?.resources ?? total))).toEqual([
      ['a', 10 * GiB],
      ['b', 2 * GiB],
    ]);
  });
});
