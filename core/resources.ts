/**
 * Resource arithmetic. Scalars are integers — cpus in millicores, mem and disk in bytes, gpus in
 * devices — so accounting never drifts; ports are ranges.
 */
import type { Resources } from '../proto/gen/galaxy/v1/common.js';
import { GalaxyError } from './errors.js';
import { parseSize } from './sizes.js';
import { addDisks, containsDisks, disksOf, namedDiskBytes, subtractDisks, validateDisks, withDisks } from './disks.js';
import {
  addRanges,
  containsRanges,
  countRanges,
  formatRanges,
  normalizeRanges,
  subtractRanges,
  type Range,
} from './ranges.js';

export type { Resources };

/** The scalar resource names, in a fixed order used by the allocators. */
export const SCALARS = ['cpus', 'mem', 'disk', 'gpus'] as const;

/** One of {@link SCALARS}. */
export type ScalarName = (typeof SCALARS)[number];

/** Resources with nothing in them. */
export function emptyResources(): Resources {
  return { cpus: 0, mem: 0, disk: 0, gpus: 0, ports: [] };
}

/** A fresh copy of `r` (ports normalized). */
export function cloneResources(r: Resources): Resources {
  return {
    cpus: r.cpus,
    mem: r.mem,
    disk: r.disk,
    gpus: r.gpus,
    ports: normalizeRanges(r.ports),
    ...withDisks(disksOf(r)),
  };
}

/** `a + b`. */
export function addResources(a: Resources, b: Resources): Resources {
  return {
    cpus: a.cpus + b.cpus,
    mem: a.mem + b.mem,
    disk: a.disk + b.disk,
    gpus: a.gpus + b.gpus,
    ports: addRanges(a.ports, b.ports),
    ...withDisks(addDisks(disksOf(a), disksOf(b))),
  };
}

/** `a - b`, floored at zero for scalars. Use {@link containsResources} first when it must fit. */
export function subtractResources(a: Resources, b: Resources): Resources {
  return {
    cpus: Math.max(0, a.cpus - b.cpus),
    mem: Math.max(0, a.mem - b.mem),
    disk: Math.max(0, a.disk - b.disk),
    gpus: Math.max(0, a.gpus - b.gpus),
    ports: subtractRanges(a.ports, b.ports),
    ...withDisks(subtractDisks(disksOf(a), disksOf(b))),
  };
}

/**
 * True when `outer` holds at least `inner`, scalar by scalar, port by port and named disk by
 * named disk; the `disk` outside named disks (the sandbox's) must fit too.
 */
export function containsResources(outer: Resources, inner: Resources): boolean {
  return (
    outer.cpus >= inner.cpus &&
    outer.mem >= inner.mem &&
    outer.disk >= inner.disk &&
    outer.gpus >= inner.gpus &&
    containsRanges(outer.ports, inner.ports) &&
    (inner.namedDisks === undefined ||
      (containsDisks(disksOf(outer), disksOf(inner)) &&
        outer.disk - namedDiskBytes(outer) >= inner.disk - namedDiskBytes(inner)))
  );
}

/** The `disk` of `r` outside its named disks: what its sandbox may hold. */
export function sandboxDisk(r: Resources): number {
  return Math.max(0, r.disk - namedDiskBytes(r));
}

/** True when there is nothing in `r`. */
export function isEmptyResources(r: Resources): boolean {
  return (
    r.cpus === 0 && r.mem === 0 && r.disk === 0 && r.gpus === 0 && countRanges(r.ports) === 0 && namedDiskBytes(r) === 0
  );
}

/** True when `a` and `b` hold exactly the same. */
export function equalResources(a: Resources, b: Resources): boolean {
  return containsResources(a, b) && containsResources(b, a);
}

/** Checks that scalars are non-negative safe integers and ranges are well formed. */
export function validateResources(r: Resources, where: string): void {
  for (const name of SCALARS) {
    const v = r[name];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new GalaxyError(
        'GALAXY_E_INVALID_RESOURCES',
        `${where}: ${name} must be a non-negative integer, got ${String(v)}`,
      );
    }
  }
  for (const p of r.ports) {
    if (!Number.isSafeInteger(p.begin) || !Number.isSafeInteger(p.end) || p.begin > p.end || p.end > 65535) {
      throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: bad port range ${p.begin}-${p.end}`);
    }
  }
  validateDisks(disksOf(r), where);
  if (namedDiskBytes(r) > r.disk)
    throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: named disks hold more than disk`);
}

/** Formats bytes with a binary unit, e.g. `4GiB`, `1.5MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[i] ?? 'B'}`;
}

function parsePorts(text: string, where: string): Range[] {
  const body = text.replace(/^\[|\]$/g, '');
  const ranges: Range[] = [];
  for (const part of body.split(/[,\s]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const begin = Number(m?.[1]);
    const end = Number(m?.[2] ?? m?.[1]);
    if (!m || begin > end || end > 65535) {
      throw new GalaxyError(
        'GALAXY_E_INVALID_RESOURCES',
        `${where}: bad port range "${part}" (expected 31000-31999, at most 65535)`,
      );
    }
    ranges.push({ begin, end });
  }
  return ranges;
}

/** The `name:value` entries of a resources spec (`;` separates; so does `,` outside brackets). */
export function resourceEntries(text: string): string[] {
  return text
    .split(/;|,(?![^[]*\])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The resource names a spec sets, e.g. `['cpus', 'ports']`. */
export function namedResources(text: string): Set<string> {
  return new Set(resourceEntries(text).map((entry) => entry.split(':')[0]?.trim() ?? ''));
}

/**
 * Parses `cpus:2;mem:4GiB;disk:10GiB;gpus:0;ports:[31000-32000]` (`,` also separates entries
 * outside brackets). cpus are cores and may be fractional; they become millicores. mem and disk
 * are sizes with a unit (`core/sizes.ts`).
 */
export function parseResources(text: string, where = 'resources'): Resources {
  const r = emptyResources();
  const seen = new Set<string>();
  for (const entry of resourceEntries(text)) {
    const idx = entry.indexOf(':');
    const name = entry.slice(0, idx).trim();
    const value = entry.slice(idx + 1).trim();
    if (seen.has(name)) {
      throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: "${name}" is given twice in "${text}"`);
    }
    seen.add(name);
    if (idx <= 0 || value === '') {
      throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: expected name:value, got "${entry}"`);
    }
    switch (name) {
      case 'cpus': {
        const cores = Number(value);
        if (!Number.isFinite(cores) || cores < 0) {
          throw new GalaxyError(
            'GALAXY_E_INVALID_RESOURCES',
            `${where}: cpus must be a number of cores, got "${value}"`,
          );
        }
        r.cpus = Math.round(cores * 1000);
        break;
      }
      case 'mem':
      case 'disk':
        r[name] = parseSize(value, `${where}.${name}`);
        break;
      case 'gpus': {
        const n = Number(value);
        if (!Number.isSafeInteger(n) || n < 0) {
          throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: gpus must be a whole number, got "${value}"`);
        }
        r.gpus = n;
        break;
      }
      case 'ports':
        r.ports = normalizeRanges(parsePorts(value, `${where}.ports`));
        break;
      default:
        throw new GalaxyError(
          'GALAXY_E_INVALID_RESOURCES',
          `${where}: unknown resource "${name}" (known: cpus, mem, disk, gpus, ports)`,
        );
    }
  }
  validateResources(r, where);
  return r;
}

/** Formats resources for people: `cpus:1.5 mem:2GiB disk:10GiB ports:31000-31010`. */
export function formatResources(r: Resources): string {
  const parts = [`cpus:${r.cpus / 1000}`, `mem:${formatBytes(r.mem)}`, `disk:${formatBytes(r.disk)}`];
  if (r.gpus > 0) parts.push(`gpus:${r.gpus}`);
  if (r.ports.length > 0) parts.push(`ports:${formatRanges(r.ports)}`);
  return parts.join(' ');
}
