/**
 * The text forms of reservations: `galaxy agent --reserve "eng:cpus=2,mem=4GiB;ops:cpus=1"` and
 * the amounts of `galaxy reserve <agent> <role> cpus=2,mem=1GiB`. Amounts use the units of
 * {@link parseResources} (cpus in cores, sizes like `512MiB`); ports cannot be reserved.
 */
import type { ReservedResources, Resources } from '../proto/gen/galaxy/v1/common.js';
import { GalaxyError } from './errors.js';
import { containsResources, addResources, emptyResources, formatResources, parseResources } from './resources.js';
import { checkRole } from './validate.js';

/** Parses `cpus=2,mem=1GiB` (scalars only, at least one of them non-zero). */
export function parseReservedAmounts(text: string, where: string): Resources {
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0)
    throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: no amounts given (e.g. cpus=2,mem=4GiB)`);
  const spec = entries.map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1)
      throw new GalaxyError(
        'GALAXY_E_INVALID_RESOURCES',
        `${where}: expected name=value, got "${entry}" (e.g. cpus=2,mem=4GiB)`,
      );
    const name = entry.slice(0, eq).trim();
    if (name === 'ports') throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: ports cannot be reserved`);
    return `${name}:${entry.slice(eq + 1).trim()}`;
  });
  const resources = parseResources(spec.join(';'), where);
  if (resources.cpus + resources.mem + resources.disk + resources.gpus === 0)
    throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: a reservation of nothing`);
  return resources;
}

/** Parses `role:cpus=2,mem=4GiB;role2:cpus=1` (each role once, never `*`). */
export function parseReservations(spec: string, where = '--reserve'): ReservedResources[] {
  const out: ReservedResources[] = [];
  for (const part of spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    if (colon <= 0)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `${where}: expected role:cpus=…,mem=…, got "${part.slice(0, 80)}"`,
      );
    const role = part.slice(0, colon).trim();
    checkReservedRole(role, where);
    if (out.some((r) => r.role === role))
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where}: role ${role} is given twice`);
    out.push({ role, resources: parseReservedAmounts(part.slice(colon + 1), `${where} ${role}`) });
  }
  return out;
}

/** A role resources may be reserved for: a valid role path other than `*`. */
export function checkReservedRole(role: string, where: string): void {
  checkRole(role, 'GALAXY_E_INVALID_ARGUMENT');
  if (role === '*')
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where}: resources cannot be reserved for role *`);
}

/** Throws unless the reservations together fit `total`. */
export function checkReservationsFit(
  reservations: readonly ReservedResources[],
  total: Resources,
  where: string,
): void {
  let sum = emptyResources();
  for (const r of reservations) sum = addResources(sum, r.resources ?? emptyResources());
  if (!containsResources(total, sum))
    throw new GalaxyError(
      'GALAXY_E_RESERVATION_INVALID',
      `${where}: reservations of ${formatResources(sum)} exceed the agent's ${formatResources(total)}`,
    );
}
