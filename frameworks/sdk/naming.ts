/**
 * Naming: where a job's service endpoints can be found. The AppMaster publishes each pod's
 * endpoints through the {@link Coordinator} under `/galaxy/naming/<job>/<podId>` (value
 * `{"publisher": "<job uid>", "endpoints": [...]}`); clients resolve them, once or with a watch.
 *
 * A naming entry is owned by the job that first published it (`docs/security.md`, Jobs have
 * owners): the first publish claims `/galaxy/naming/<job>` for it (value `{"owner": {"user",
 * "uid"}}`, written with compare-and-set). Another user's job cannot publish there, and resolve
 * answers only the claiming job's endpoints, so no job can hijack another's service. A later job
 * of the same user (the name reused after a remove) takes the claim over.
 */
import { z } from 'zod';
import type { Coordinator, Unwatch } from '../../core/coordinator/coordinator.js';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import { checkId } from '../../core/validate.js';

/** One published endpoint of a pod. */
export interface Endpoint {
  /** The service's name from the job spec. */
  readonly service: string;
  readonly job: string;
  readonly podId: string;
  readonly host: string;
  readonly port: number;
  readonly healthy: boolean;
}

/** Where naming lives in the coordinator. */
export const NAMING_ROOT = '/galaxy/naming';

const EndpointSchema = z.object({
  service: z.string(),
  job: z.string(),
  podId: z.string(),
  host: z.string(),
  port: z.number().int().min(0).max(65535),
  healthy: z.boolean(),
});
const EntrySchema = z.object({ publisher: z.string(), endpoints: z.array(EndpointSchema) });
const OwnerSchema = z.object({ user: z.string(), uid: z.string() });
const ClaimSchema = z.object({ owner: OwnerSchema });

/** The job that owns a naming entry: its owner, and the uid of that one submission of it. */
export interface NamingOwner {
  readonly user: string;
  /** Unique per submission: a job removed and submitted again under its name has a new one. */
  readonly uid: string;
}

/** How many times a lost compare-and-set of a claim is retried. */
const CLAIM_ATTEMPTS = 20;

/** Parses stored JSON with `schema`; undefined when it is absent or not valid. */
function parseAs<T>(schema: z.ZodType<T>, text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** The coordinator key of a job's naming entries, or of one pod's. */
export function namingKey(job: string, podId?: string): string {
  checkId(job, 'job');
  if (podId === undefined) return `${NAMING_ROOT}/${job}`;
  checkId(podId, 'pod id');
  return `${NAMING_ROOT}/${job}/${podId}`;
}

/** The job that owns the naming entries of `job`, if any has published them. */
export async function namingOwner(coord: Coordinator, job: string): Promise<NamingOwner | undefined> {
  return parseAs(ClaimSchema, (await coord.get(namingKey(job)))?.value)?.owner;
}

/**
 * Claims the naming entries of `job` for `owner`: resolves once they are `owner`'s (claimed now,
 * already, or taken over from an earlier job of the same user); rejects with
 * GALAXY_E_NAME_TAKEN, changing nothing, when another user's job holds them.
 */
export async function claimNaming(coord: Coordinator, job: string, owner: NamingOwner): Promise<void> {
  const key = namingKey(job);
  for (let attempt = 1; ; attempt += 1) {
    const stored = await coord.get(key);
    const held = parseAs(ClaimSchema, stored?.value)?.owner;
    if (held?.user === owner.user && held.uid === owner.uid) return;
    if (held && held.user !== owner.user)
      throw new GalaxyError(
        'GALAXY_E_NAME_TAKEN',
        `the naming entry "${job}" belongs to another user's job; publish under another job name`,
      );
    try {
      await coord.put(key, JSON.stringify({ owner: { user: owner.user, uid: owner.uid } }), {
        expectedVersion: stored?.version ?? -1,
      });
      return;
    } catch (error) {
      if (!isGalaxyError(error, 'GALAXY_E_COORD_CONFLICT') || attempt >= CLAIM_ATTEMPTS) throw error;
    }
  }
}

/**
 * Publishes (replaces) the endpoints of one pod of `owner`'s job `job`, claiming the job's naming
 * entries first (see {@link claimNaming}: another user's job's entries are refused, unchanged).
 */
export async function publishEndpoints(
  coord: Coordinator,
  job: string,
  podId: string,
  endpoints: readonly Endpoint[],
  owner: NamingOwner,
): Promise<void> {
  const entry = EntrySchema.parse({ publisher: owner.uid, endpoints });
  const key = namingKey(job, podId);
  await claimNaming(coord, job, owner);
  await coord.put(key, JSON.stringify(entry));
}

/** Removes the endpoints of one pod, if `owner`'s job published them. */
export async function withdrawEndpoints(
  coord: Coordinator,
  job: string,
  podId: string,
  owner: NamingOwner,
): Promise<void> {
  const key = namingKey(job, podId);
  const stored = await coord.get(key);
  if (stored && parseAs(EntrySchema, stored.value)?.publisher === owner.uid)
    await coord.delete(key, { expectedVersion: stored.version });
}

/**
 * Removes every naming entry of `job` and its claim, unless another user's job holds them (what
 * an earlier job of the same user left goes too).
 */
export async function withdrawJob(coord: Coordinator, job: string, owner: NamingOwner): Promise<void> {
  const held = await namingOwner(coord, job);
  if (held && held.user !== owner.user) return;
  await coord.delete(namingKey(job), { recursive: true });
}

/** Orders endpoints by service, pod, host and port, so that listings are stable. */
function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return (
    a.service.localeCompare(b.service) ||
    a.podId.localeCompare(b.podId) ||
    a.host.localeCompare(b.host) ||
    a.port - b.port
  );
}

/**
 * The endpoints of `job` (only those of `service`, when given), sorted: only those the job that
 * owns the entries published (none while nobody claimed them). An entry that is not valid naming
 * JSON is skipped: one bad writer must not hide the other pods.
 */
export async function resolve(coord: Coordinator, job: string, service?: string): Promise<Endpoint[]> {
  const prefix = namingKey(job);
  const owner = await namingOwner(coord, job);
  if (!owner) return [];
  const endpoints: Endpoint[] = [];
  for (const podId of await coord.list(prefix)) {
    const entry = parseAs(EntrySchema, (await coord.get(`${prefix}/${podId}`))?.value);
    if (entry?.publisher === owner.uid) endpoints.push(...entry.endpoints);
  }
  return endpoints.filter((e) => service === undefined || e.service === service).sort(compareEndpoints);
}

/**
 * Calls `onChange` with the endpoints of `job` at once, then with the full list after every
 * change. Bursts of changes may be reported as one list, a list equal to the previous one is not
 * reported again, and lists arrive in order.
 */
export function watchEndpoints(coord: Coordinator, job: string, onChange: (endpoints: Endpoint[]) => void): Unwatch {
  let stopped = false;
  let running = false;
  let again = false;
  let last: string | undefined;
  const wanted = (): boolean => again && !stopped;
  const refresh = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const endpoints = await resolve(coord, job).catch(() => undefined);
        const text = JSON.stringify(endpoints);
        if (stopped || endpoints === undefined || text === last) continue;
        last = text;
        onChange(endpoints);
      } while (wanted());
    } finally {
      running = false;
    }
  };
  const unwatch = coord.watch(namingKey(job), () => void refresh());
  void refresh();
  return () => {
    stopped = true;
    unwatch();
  };
}
