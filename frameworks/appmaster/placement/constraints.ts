/**
 * The checks a host must pass before ports are looked at, in the order `job show` reports them:
 * the first failing one is why a pending pod cannot go there. Each returns a reason people can
 * read, or `undefined` when the host passes.
 */
import type { Resources } from '../../../proto/gen/galaxy/v1/common.js';
import { formatBytes, sandboxDisk, SCALARS, type ScalarName } from '../../../core/resources.js';
import type { JobSpec } from '../spec/schema.js';
import { bindDenial } from '../../../core/host-paths.js';
import { poolOf, type Host } from './host.js';

/** One check of a pod (its spec and scalar needs) against a host. */
type Constraint = (spec: JobSpec, need: Resources, host: Host) => string | undefined;

/** A label value that any value of the key satisfies. */
export const ANY_VALUE = '*';

const SHORTAGE: Record<ScalarName, (needed: number) => string> = {
  cpus: (m) => `insufficient cpu (needs ${m}m)`,
  mem: (b) => `insufficient mem (needs ${formatBytes(b)})`,
  disk: (b) => `insufficient disk (needs ${formatBytes(b)})`,
  gpus: (n) => `insufficient gpus (needs ${n})`,
};

const pool: Constraint = (spec, _need, host) =>
  poolOf(host.offer) === spec.pool ? undefined : `not in pool "${spec.pool}"`;

const labels: Constraint = (spec, _need, host) => {
  for (const [key, value] of Object.entries(spec.labels)) {
    const carried = host.offer.attributes.some((a) => a.key === key && (value === ANY_VALUE || a.value === value));
    if (!carried) return `missing label ${key}=${value}`;
  }
  return undefined;
};

const blacklist: Constraint = (_spec, _need, host) => (host.blacklisted ? 'blacklisted' : undefined);

const maxPerHost: Constraint = (spec, _need, host) =>
  spec.maxPerHost > 0 && host.podsOfJob >= spec.maxPerHost ? `max ${spec.maxPerHost} per host reached` : undefined;

const scalars: Constraint = (_spec, need, host) => {
  // `need.disk` is the sandbox's: it comes out of the disk that is not a named one.
  const free = { ...host.free, disk: sandboxDisk(host.free) };
  const short = SCALARS.find((name) => free[name] < need[name]);
  return short === undefined ? undefined : SHORTAGE[short](need[short]);
};

/** Bind volumes need an agent that allows their host paths (`galaxy agent --allowed-host-paths`). */
const hostPaths: Constraint = (spec, _need, host) => {
  for (const volume of spec.volumes) {
    if (volume.kind !== 'bind') continue;
    if (bindDenial(volume.hostPath, volume.readOnly, host.offer.allowedHostPaths) !== undefined)
      return `host path ${volume.hostPath} not allowed${volume.readOnly ? '' : ' read-write'}`;
  }
  return undefined;
};

const CONSTRAINTS: readonly Constraint[] = [pool, labels, hostPaths, blacklist, maxPerHost, scalars];

/** The first check the host fails for the pod, or `undefined` when it passes them all. */
export function unmetConstraint(spec: JobSpec, need: Resources, host: Host): string | undefined {
  for (const check of CONSTRAINTS) {
    const reason = check(spec, need, host);
    if (reason !== undefined) return reason;
  }
  return undefined;
}
