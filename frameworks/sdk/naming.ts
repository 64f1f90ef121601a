/**
 * Naming: where a job's service endpoints can be found. The AppMaster publishes each pod's
 * endpoints through the {@link Coordinator} under `/galaxy/naming/<job>/<podId>` (value
 * `{"endpoints": [...]}`); clients resolve them, once or with a watch.
 */
import { z } from 'zod';
import type { Coordinator, Unwatch } from '../../core/coordinator/coordinator.js';
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
const EntrySchema = z.object({ endpoints: z.array(EndpointSchema) });

/** The coordinator key of a job's naming entries, or of one pod's. */
export function namingKey(job: string, podId?: string): string {
  checkId(job, 'job');
  if (podId === undefined) return `${NAMING_ROOT}/${job}`;
  checkId(podId, 'pod id');
  return `${NAMING_ROOT}/${job}/${podId}`;
}

/** Publishes (replaces) the endpoints of one pod. */
export async function publishEndpoints(
  coord: Coordinator,
  job: string,
  podId: string,
  endpoints: readonly Endpoint[],
): Promise<void> {
  const entry = EntrySchema.parse({ endpoints });
  await coord.put(namingKey(job, podId), JSON.stringify(entry));
}

/** Removes the endpoints of one pod. */
export async function withdrawEndpoints(coord: Coordinator, job: string, podId: string): Promise<void> {
  await coord.delete(namingKey(job, podId));
}

/** Removes every naming entry of a job. */
export async function withdrawJob(coord: Coordinator, job: string): Promise<void> {
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
 * The endpoints of `job` (only those of `service`, when given), sorted. An entry that is not
 * valid naming JSON is skipped: one bad writer must not hide the other pods.
 */
export async function resolve(coord: Coordinator, job: string, service?: string): Promise<Endpoint[]> {
  const prefix = namingKey(job);
  const endpoints: Endpoint[] = [];
  for (const podId of await coord.list(prefix)) {
    const entry = await coord.get(`${prefix}/${podId}`);
    if (entry === undefined) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.value);
    } catch {
      continue;
    }
    const result = EntrySchema.safeParse(parsed);
    if (result.success) endpoints.push(...result.data.endpoints);
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
