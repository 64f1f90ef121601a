/**
 * Held volumes in the ledger (docs/disks.md, "Held volumes"): a kept volume's bytes are its
 * framework's allocation — in no other framework's offer, counted in its share — until the
 * volume goes (freed) or its task mounts it (claimed: they stay, as that task's); a hold whose
 * bytes are not free waits, and takes them first when they come back.
 */
import { describe, expect, it } from 'vitest';
import { disksOf, withDisks, type DiskResource } from '../../core/disks.js';
import { parseResources } from '../../core/resources.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { DrfAllocator } from '../drf/drf-allocator.js';

const MiB = 1024 ** 2;
const disk = (size: number): DiskResource => ({
  name: 'ssd1',
  medium: 'ssd',
  size,
  capacity: 64 * MiB,
  exclusive: false,
});
const ssdFree = (r: Resources) => disksOf(r).find((d) => d.name === 'ssd1')?.size;
const hold = (frameworkId: string, size = 40 * MiB) => ({
  frameworkId,
  key: `${frameworkId}/kv-0/data`,
  disk: 'ssd1',
  size,
});

function cluster() {
  const allocator = new DrfAllocator();
  const total = { ...parseResources('cpus:4;mem:8GiB;disk:1088MiB'), ...withDisks([disk(64 * MiB)]) };
  allocator.addAgent({ id: 'a1', hostname: 'a1', total, attributes: [], pool: 'default' }, new Map());
  allocator.addFramework({ id: 'f', name: 'f', role: 'f' }, new Map(), true);
  allocator.addFramework({ id: 'g', name: 'g', role: 'g' }, new Map(), true);
  /** The one offer of a pass (to whichever framework DRF picks), given straight back. */
  const offerTo = (frameworkId: string): Resources | undefined => {
    const offers = allocator.allocate();
    for (const o of offers) allocator.recoverResources(o.frameworkId, o.agentId, o.resources, { refuseSeconds: 0 });
    return offers.find((o) => o.frameworkId === frameworkId)?.resources;
  };
  return { allocator, offerTo };
}

describe('held volumes in the ledger', () => {
  it('keeps a held volume out of other frameworks offers and counts it in its framework share', () => {
    const { allocator, offerTo } = cluster();
    allocator.setVolumeHolds('a1', [hold('f')], new Set());
    expect(allocator.heldVolumes('f', 'a1')).toEqual([hold('f')]);
    expect(allocator.share('f')).toBeGreaterThan(0);
    allocator.suppressOffers('f');
    const offer = offerTo('g');
    expect(ssdFree(offer ?? parseResources('cpus:0'))).toBe(24 * MiB);
    expect(offer?.disk).toBe(1088 * MiB - 40 * MiB);
  });

  it('frees the bytes when the volume goes, and keeps them when a task claims them', () => {
    const { allocator, offerTo } = cluster();
    allocator.setVolumeHolds('a1', [hold('f')], new Set());
    allocator.setVolumeHolds('a1', [], new Set());
    expect(allocator.share('f')).toBe(0);
    allocator.suppressOffers('f');
    expect(ssdFree(offerTo('g') ?? parseResources('cpus:0'))).toBe(64 * MiB);

    allocator.setVolumeHolds('a1', [hold('f')], new Set());
    const held = allocator.share('f');
    // Its task mounts it: the bytes are the task's now, still f's, nothing moves.
    allocator.setVolumeHolds('a1', [], new Set(['f/kv-0/data']));
    expect(allocator.share('f')).toBe(held);
    expect(ssdFree(offerTo('g') ?? parseResources('cpus:0'))).toBe(24 * MiB);
  });

  it('lets a hold wait for bytes another framework holds, and take them first when they come back', () => {
    const { allocator } = cluster();
    allocator.suppressOffers('f');
    const [offer] = allocator.allocate();
    if (offer?.frameworkId !== 'g') throw new Error('expected an offer to g');
    allocator.setVolumeHolds('a1', [hold('f')], new Set());
    expect(allocator.heldVolumes('f', 'a1')).toEqual([]);
    allocator.recoverResources('g', 'a1', offer.resources, { refuseSeconds: 0 });
    expect(allocator.heldVolumes('f', 'a1')).toEqual([hold('f')]);
    const [next] = allocator.allocate();
    expect(ssdFree(next?.resources ?? parseResources('cpus:0'))).toBe(24 * MiB);
  });

  it('forgets the holds of a framework that leaves and of an agent that goes', () => {
    const { allocator } = cluster();
    allocator.setVolumeHolds('a1', [hold('f')], new Set());
    allocator.removeFramework('f');
    expect(allocator.heldVolumes('f', 'a1')).toEqual([]);
    allocator.setVolumeHolds('a1', [hold('g')], new Set());
    allocator.removeAgent('a1');
    expect(allocator.heldVolumes('g', 'a1')).toEqual([]);
    expect(allocator.share('g')).toBe(0);
    // An agent not (yet) in the ledger: nothing to hold, no error (the master re-adds it later).
    expect(() => {
      allocator.setVolumeHolds('a1', [hold('g')], new Set());
    }).not.toThrow();
  });
});
