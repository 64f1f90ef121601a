/**
 * Builders for the placement tests: valid job specs with only the fields a test cares about,
 * offers in people's units, and a context backed by plain maps.
 */
import type { HostPath, KeptVolume, Offer } from '../../../proto/gen/galaxy/v1/common.js';
import { parseResources } from '../../../core/resources.js';
import { JobSpecSchema, type JobSpec, type JobSpecInput } from '../spec/schema.js';
import type { PlacementContext } from './place.js';

/** A parsed job spec: 500m cpu and 256Mi memory unless `fields` say otherwise. */
export function jobSpec(fields: Partial<JobSpecInput> = {}): JobSpec {
  return JobSpecSchema.parse({
    name: 'web',
    replicas: 1,
    resources: { cpu: { millicores: '500m' }, memory: { hard: '256Mi' } },
    package: { source: 'file:///pkg/web.tar.gz', version: '1', sha256: 'a'.repeat(64) },
    commands: { start: './run' },
    ...fields,
  });
}

/** What a test says about an offer; the agent and hostname follow from the id unless given. */
export interface OfferFields {
  readonly id: string;
  /** In `parseResources` form, e.g. `cpus:2;mem:4GiB;ports:[31000-31009]`. */
  readonly resources?: string;
  readonly agentId?: string;
  readonly hostname?: string;
  readonly pool?: string;
  readonly attributes?: Record<string, string>;
  /** The agent's `--allowed-host-paths`. */
  readonly allowedHostPaths?: HostPath[];
  /** Bytes held in it for kept persistent volumes (docs/disks.md, "Held volumes"). */
  readonly heldVolumes?: KeptVolume[];
}

/** An offer of 4 cpus, 8GiB memory, 100GiB disk and ports 31000-31099 unless told otherwise. */
export function offer(fields: OfferFields): Offer {
  const agentId = fields.agentId ?? `agent-${fields.id}`;
  return {
    id: fields.id,
    frameworkId: 'appmaster',
    agentId,
    hostname: fields.hostname ?? `host-${agentId}`,
    resources: parseResources(fields.resources ?? 'cpus:4;mem:8GiB;disk:100GiB;ports:[31000-31099]'),
    attributes: Object.entries(fields.attributes ?? {}).map(([key, value]) => ({ key, value })),
    pool: fields.pool ?? '',
    allowedHostPaths: fields.allowedHostPaths ?? [],
    heldVolumes: fields.heldVolumes ?? [],
  };
}

/** A context where `existing` maps `job@agentId` to pod counts and `blacklist` holds `job@hostname`. */
export function context(existing: Record<string, number> = {}, blacklist: readonly string[] = []): PlacementContext {
  return {
    podsOn: (job, agentId) => existing[`${job}@${agentId}`] ?? 0,
    blacklisted: (job, hostname) => blacklist.includes(`${job}@${hostname}`),
  };
}
