/**
 * Batch job specs: defaults filled in, bad input refused with an error naming the field.
 */
import { GalaxyError } from '../../core/errors.js';
import { validateResources } from '../../core/resources.js';
import { checkId } from '../../core/validate.js';
import { Limits, Volume_Kind, type Resources, type Volume } from '../../proto/gen/galaxy/v1/common.js';
import { neverAllowed, notNormal, volumePathDenial } from '../../core/host-paths.js';
import type { BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';

/** Per-task resources of a job that names none: 0.1 cpu, 32 MiB. */
const DEFAULT_RESOURCES: Resources = { cpus: 100, mem: 32 * 1024 * 1024, disk: 0, gpus: 0, ports: [] };

/** Most completions one job may ask for. */
export const MAX_COMPLETIONS = 1_000_000;

/** Returns the spec with defaults, or throws `GALAXY_E_INVALID_ARGUMENT` naming the bad field. */
export function normalizeSpec(spec: BatchJobSpec): BatchJobSpec {
  const bad = (field: string, why: string): never => {
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `batch job ${field}: ${why}`);
  };
  checkId(spec.name, 'batch job name');
  if (spec.command.trim() === '') bad('command', 'is empty');
  const completions = spec.completions === 0 ? 1 : spec.completions;
  if (!Number.isInteger(completions) || completions < 1 || completions > MAX_COMPLETIONS)
    bad('completions', `must be 1..${MAX_COMPLETIONS}`);
  const parallelism = spec.parallelism === 0 ? completions : spec.parallelism;
  if (!Number.isInteger(parallelism) || parallelism < 1) bad('parallelism', 'must be a positive whole number');
  const maxRetries = spec.maxRetries === 0 ? 3 : spec.maxRetries;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 100) bad('max_retries', 'must be 0..100');
  const backoffS = spec.backoffS === 0 ? 1 : spec.backoffS;
  if (!(backoffS > 0 && backoffS <= 3600)) bad('backoff_s', 'must be in (0, 3600]');
  if (!(spec.deadlineS >= 0 && spec.deadlineS <= 30 * 86400)) bad('deadline_s', 'must be 0..30 days');
  const band = spec.band === '' ? 'batch' : spec.band;
  if (band !== 'batch' && band !== 'best-effort') bad('band', 'must be "batch" or "best-effort"');
  const resources = spec.resources ?? DEFAULT_RESOURCES;
  try {
    validateResources(resources, 'resources');
  } catch (error) {
    bad('resources', error instanceof GalaxyError ? error.detail : String(error));
  }
  if (resources.cpus <= 0 && resources.mem <= 0) bad('resources', 'a task needs some cpus or mem');
  const pool = spec.pool === '' ? 'default' : spec.pool;
  if (!/^[A-Za-z0-9_.-]{1,63}$/.test(pool)) bad('pool', 'must be a pool name');
  checkVolumes(spec.volumes, bad);
  return {
    ...spec,
    completions,
    parallelism,
    maxRetries,
    backoffS,
    band,
    pool,
    resources,
    limits: spec.limits ?? Limits.create(),
  };
}

/**
 * Volumes of a batch job: at most 32, each at a path inside the sandbox or an absolute one in the
 * container's root; tmpfs with a size; binds of a host path that is never refused outright (the
 * agents check their --allowed-host-paths, and the master at ACCEPT).
 */
function checkVolumes(volumes: readonly Volume[], bad: (field: string, why: string) => never): void {
  if (volumes.length > 32) bad('volumes', 'at most 32');
  volumes.forEach((volume, i) => {
    const field = `volumes[${i}]`;
    const path = volumePathDenial(volume.path);
    if (path !== undefined) bad(field, path);
    if (volume.kind === Volume_Kind.TMPFS) {
      if (!(Number.isSafeInteger(volume.sizeBytes) && volume.sizeBytes > 0))
        bad(field, 'a tmpfs volume needs size_bytes > 0');
    } else if (volume.kind === Volume_Kind.BIND) {
      const host = notNormal(volume.hostPath) ?? neverAllowed(volume.hostPath);
      if (host !== undefined) {
        throw new GalaxyError(
          'GALAXY_E_HOST_PATH_DENIED',
          `batch job ${field}: host path ${volume.hostPath.slice(0, 100)} ${host}`,
        );
      }
    } else {
      bad(field, 'kind must be TMPFS or BIND');
    }
  });
}
