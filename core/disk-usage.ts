/**
 * What operators see of named disks (docs/disks.md, "Seeing the disks"): per agent, each disk's
 * capacity, used and free bytes, and the sums per medium over the cluster, from the resource
 * books the master already keeps (the agent's total, its live tasks' shares, its open offers).
 */
import type { Resources } from '../proto/gen/galaxy/v1/common.js';
import type { AgentDisk, MediumTotal } from '../proto/gen/galaxy/v1/operator.js';
import { DISK_MEDIA, disksOf } from './disks.js';
import { formatBytes } from './resources.js';

export type { AgentDisk, MediumTotal };

/** Bytes per disk name of `r`'s named disks. */
function bytesByName(r: Resources | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of r ? disksOf(r) : []) out.set(d.name, (out.get(d.name) ?? 0) + d.size);
  return out;
}

/** Bytes a kept persistent volume with no container holds on its disk (docs/disks.md, "Held volumes"). */
export interface HeldBytes {
  readonly disk: string;
  readonly size: number;
}

/**
 * An agent's disks, by name: capacity from its `total`, used from what its live tasks hold
 * (`used`) and its kept volumes with no container hold (`held`), offered from its open offers.
 * Used is capped at the capacity, so free is never negative even if the books disagree for a moment.
 */
export function agentDisks(
  total: Resources | undefined,
  used?: Resources,
  offered?: Resources,
  held: readonly HeldBytes[] = [],
): AgentDisk[] {
  const usedBy = bytesByName(used);
  const offeredBy = bytesByName(offered);
  const heldBy = new Map<string, number>();
  for (const h of held) heldBy.set(h.disk, (heldBy.get(h.disk) ?? 0) + h.size);
  return (total ? disksOf(total) : [])
    .map((d) => {
      const holding = Math.min(d.size, heldBy.get(d.name) ?? 0);
      const taken = Math.min(d.size, (usedBy.get(d.name) ?? 0) + holding);
      const free = d.size - taken;
      return {
        name: d.name,
        medium: d.medium,
        capacity: d.size,
        used: taken,
        offered: Math.min(free, offeredBy.get(d.name) ?? 0),
        free,
        held: holding,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The order media are shown in: the known ones first (ssd, hdd, tmpfs), then any other by name. */
function mediumOrder(a: string, b: string): number {
  const rank = (m: string) => {
    const i = (DISK_MEDIA as readonly string[]).indexOf(m);
    return i < 0 ? DISK_MEDIA.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** `disks` summed per medium (a medium with no disk is absent). */
export function mediumTotals(disks: Iterable<AgentDisk>): MediumTotal[] {
  const out = new Map<string, MediumTotal>();
  for (const d of disks) {
    const t = out.get(d.medium) ?? { medium: d.medium, disks: 0, capacity: 0, used: 0, offered: 0, free: 0, held: 0 };
    out.set(d.medium, {
      ...t,
      disks: t.disks + 1,
      capacity: t.capacity + d.capacity,
      used: t.used + d.used,
      offered: t.offered + d.offered,
      free: t.free + d.free,
      held: t.held + d.held,
    });
  }
  return [...out.values()].sort((a, b) => mediumOrder(a.medium, b.medium));
}

/** `80/100GiB`: `used` in the unit `capacity` is written in (one decimal at most), then the capacity. */
export function usedOfCapacity(used: number, capacity: number): string {
  const total = formatBytes(capacity);
  const unit = /[A-Za-z]+$/.exec(total)?.[0] ?? 'B';
  const scale = 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(unit);
  const value = used / scale;
  const rounded = Math.round(value * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded : rounded.toFixed(1)}/${total}`;
}

/** An agent's disks in one cell, per medium: `ssd 80/100GiB, hdd 1.2/2TiB`; `-` when it has none. */
export function disksCell(disks: readonly AgentDisk[]): string {
  const media = mediumTotals(disks);
  return media.length === 0 ? '-' : media.map((m) => `${m.medium} ${usedOfCapacity(m.used, m.capacity)}`).join(', ');
}
