/**
 * Disk per medium in the ledger (docs/disks.md, Quotas per medium): what an agent has free of
 * each medium and what a framework holds of each, as vectors in the order of `DISK_MEDIA`, so
 * that quotas can count `ssd`, `hdd` and `tmpfs` bytes beside the scalars.
 */
import { addBytesByMedium, DISK_MEDIA, disksOf, mediumIndex, type DiskResource } from '../../core/disks.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';

/** Where the media start in a quota vector (after cpus, mem, disk, gpus). */
export const MEDIA_OFFSET = 4;

/** What {@link freeByMedium} and {@link countMedia} read of an agent. */
interface AgentDisks {
  readonly total: Resources;
  readonly freeDisks: readonly DiskResource[];
}

/** Free bytes of the agent's named disks per medium into `out`, from `offset`. */
export function freeByMedium(agent: AgentDisks, out: Float64Array, offset = 0): Float64Array {
  out.fill(0, offset, offset + DISK_MEDIA.length);
  return addBytesByMedium(agent.freeDisks, out, offset);
}

/**
 * Adds (`sign` -1: takes away) the bytes of `disks` to `media`, each under the medium the agent
 * gave the disk of that name: a share's own medium field (from a task, a report) is not trusted.
 */
export function countMedia(media: Float64Array, agent: AgentDisks, disks: readonly DiskResource[], sign: 1 | -1): void {
  const own = disksOf(agent.total);
  const named = disks.map((d) => ({ ...d, medium: own.find((o) => o.name === d.name)?.medium ?? '' }));
  addBytesByMedium(named, media, 0, sign);
}

/**
 * The named disk shares of an offer cut by quota. `amounts` holds the cut: the disk scalar at 2,
 * the bytes allowed per medium from {@link MEDIA_OFFSET}. Shares are taken from the biggest free
 * disk down (so a big volume still finds room), no more of a medium than allowed and no more in
 * all than the disk scalar. `amounts` is then rewritten to what the shares give: per medium their
 * bytes, and as disk their bytes plus at most `sandboxFree` (disk outside named disks).
 */
export function cutDisks(free: readonly DiskResource[], amounts: Float64Array, sandboxFree: number): DiskResource[] {
  const allowed = Float64Array.from(DISK_MEDIA, (_, m) => amounts[MEDIA_OFFSET + m] ?? 0);
  let room = amounts[2] ?? 0;
  const shares: DiskResource[] = [];
  const given = new Float64Array(DISK_MEDIA.length);
  for (const d of [...free].sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1))) {
    const m = mediumIndex(d.medium);
    if (m < 0) continue;
    const size = Math.min(d.size, (allowed[m] ?? 0) - (given[m] ?? 0), room);
    if (size <= 0) continue;
    shares.push({ ...d, size, exclusive: false });
    given[m] = (given[m] ?? 0) + size;
    room -= size;
  }
  amounts.set(given, MEDIA_OFFSET);
  amounts[2] = (amounts[2] ?? 0) - room + Math.min(Math.max(0, sandboxFree), room);
  return shares;
}
