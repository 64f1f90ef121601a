/**
 * What this machine offers: resources discovered from the kernel, overridden by flags, plus the
 * agent's labels and pool.
 */
import { realpath, statfs } from 'node:fs/promises';
import { availableParallelism, hostname as osHostname, totalmem } from 'node:os';
import type { HostPath, Label, ReservedResources, Resources } from '../proto/gen/galaxy/v1/common.js';
import { parseAllowedHostPaths } from '../core/host-paths.js';
import { GalaxyError } from '../core/errors.js';
import { checkReservationsFit, parseReservations } from '../core/reservation-spec.js';
import { namedResources, parseResources, SCALARS } from '../core/resources.js';
import { checkId } from '../core/validate.js';
import { withDisks } from '../core/disks.js';
import { resolveAgentDisks, type AgentDisk } from './disks/agent-disks.js';

/** What the agent registers with. */
export interface MachineInfo {
  readonly hostname: string;
  readonly total: Resources;
  readonly attributes: Label[];
  readonly pool: string;
  /** Static reservations (`--reserve`). */
  readonly reservations: ReservedResources[];
  /** Where bind volumes may come from (`--allowed-host-paths`), real paths. */
  readonly allowedHostPaths: HostPath[];
  /** Named disks (`--disks`, `--disks-from`), with their paths; also in `total` (named, and counted in `disk`). */
  readonly disks: AgentDisk[];
  /** What disk discovery skipped and why (`--disks-from`), for the agent's log. */
  readonly diskWarnings: string[];
}

/** Flags that shape discovery (`galaxy agent`'s machine flags). */
export interface DiscoveryOptions {
  /** Sandboxes and checkpoints live here. */
  readonly workDir: string;
  /** Overrides, e.g. `cpus:2;mem:4GiB;ports:[31000-31099]`; unnamed resources keep their discovered value. */
  readonly resources?: string;
  /** Labels, e.g. `rack:r1;zone:z1`. */
  readonly attributes?: string;
  readonly pool?: string;
  readonly hostname?: string;
  /** Static reservations, e.g. `eng:cpus=2,mem=4GiB;ops:cpus=1` (`galaxy agent --reserve`). */
  readonly reserve?: string;
  /** Host paths bind volumes may come from, `path[:rw],…` (`--allowed-host-paths`); none by default. */
  readonly allowedHostPaths?: string;
  /** Named disks, `name:path:medium:size,…` (`--disks`; docs/disks.md); none by default. */
  readonly disks?: string;
  /** A directory whose mount points are disks, each named after its mount point (`--disks-from`; docs/disks.md). */
  readonly disksFrom?: string;
  /** Media of disks found by `disksFrom`, `name:medium,…` (`--disk-medium`), over the kernel's. */
  readonly diskMedium?: string;
}

const GiB = 1024 ** 3;
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/;

/** Discovers resources and applies overrides. Throws a coded error for malformed flags. */
export async function discoverMachine(options: DiscoveryOptions): Promise<MachineInfo> {
  const mem = totalmem();
  const fs = await statfs(options.workDir);
  const disk = fs.bavail * fs.bsize;
  const total: Resources = {
    cpus: availableParallelism() * 1000,
    // Leave the system some room, as Mesos does.
    mem: Math.max(0, mem - Math.min(GiB, Math.floor(mem * 0.1))),
    disk: Math.max(0, disk - Math.min(5 * GiB, Math.floor(disk * 0.1))),
    gpus: 0,
    ports: [{ begin: 31000, end: 32000 }],
  };
  if (options.resources !== undefined) applyOverrides(total, options.resources);
  const { disks, warnings: diskWarnings } = await resolveAgentDisks(options, options.workDir);
  // Named disks are extra disk: their bytes count in `disk` too, so quotas and shares see the sum.
  for (const d of disks) total.disk += d.resource.size;
  Object.assign(total, withDisks(disks.map((d) => d.resource)));
  const pool = options.pool ?? 'default';
  checkId(pool, '--pool');
  const hostname = options.hostname ?? osHostname();
  // Frameworks dial tasks at this name and match constraints on it, so a typo must fail here.
  if (!HOSTNAME.test(hostname))
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `--hostname "${hostname.slice(0, 60)}" is not a host name or address`,
    );
  const reservations = parseReservations(options.reserve ?? '');
  checkReservationsFit(reservations, total, '--reserve');
  return {
    hostname,
    total,
    attributes: parseAttributes(options.attributes ?? ''),
    pool,
    reservations,
    allowedHostPaths: await resolveAllowedHostPaths(options.allowedHostPaths ?? '', options.workDir),
    disks,
    diskWarnings,
  };
}

/**
 * Parses `--allowed-host-paths` for an agent working in `workDir`: each entry must exist and be
 * its own real path (so what the master checks volumes against is what the agent binds), and
 * none may be or hold the work dir (core/host-paths.ts).
 */
export async function resolveAllowedHostPaths(spec: string, workDir: string): Promise<HostPath[]> {
  const entries = parseAllowedHostPaths(spec, await realpath(workDir));
  for (const entry of entries) {
    const real = await realpath(entry.path).catch(() => undefined);
    if (real !== entry.path)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        real === undefined
          ? `--allowed-host-paths: ${entry.path} does not exist`
          : `--allowed-host-paths: ${entry.path} is a link to ${real}; list the real path`,
      );
  }
  return entries;
}

/**
 * Replaces the discovered value of each resource `spec` names; the others keep theirs. A name
 * given twice is refused rather than letting the last one silently win.
 */
function applyOverrides(total: Resources, spec: string): void {
  const parsed = parseResources(spec, '--resources'); // refuses a name given twice
  const named = namedResources(spec);
  for (const name of SCALARS) if (named.has(name)) total[name] = parsed[name];
  if (named.has('ports')) total.ports = parsed.ports;
}

const LABEL = /^[A-Za-z0-9_.-]{1,63}$/;

/** Parses `key:value;key:value` labels. */
export function parseAttributes(spec: string): Label[] {
  const labels: Label[] = [];
  for (const entry of spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [key, value, extra] = entry.split(':');
    if (key === undefined || value === undefined || extra !== undefined || !LABEL.test(key) || !LABEL.test(value)) {
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `--attributes: expected key:value with letters, digits, _ . -, got "${entry}"`,
      );
    }
    if (labels.some((l) => l.key === key))
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--attributes: "${key}" is given twice`);
    labels.push({ key, value });
  }
  return labels;
}
