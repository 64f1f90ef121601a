/**
 * Publishes each pod's service endpoints (service, host, port, healthy) to naming, writing only
 * when they change. The entries are owned by the job (its owner and uid, see `sdk/naming.ts`);
 * the writes of one job run in order, so a removed job's withdrawal lands after its last publish.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import { publishEndpoints, withdrawEndpoints, withdrawJob, type Endpoint, type NamingOwner } from '../sdk/naming.js';
import { KeyedSerial, ownerOf } from './admission.js';
import type { JobState } from './job-state.js';
import type { JobRecord, Pod } from './model.js';

/** The job that owns `record`'s naming entries: its owner and uid (records from before uids: one made of its submit time). */
export function namingOwnerOf(record: JobRecord): NamingOwner {
  return { user: ownerOf(record), uid: record.uid ?? `submitted-${record.submittedAt}` };
}

/** The endpoints a pod serves now: its services' ports while its service runs. */
export function podEndpoints(job: JobState, pod: Pod): Endpoint[] {
  const report = pod.runtime.report;
  if (report?.phase !== 'running') return [];
  return job.specOf(pod.record.revision).services.flatMap((service) => {
    const port = pod.record.ports[service.port];
    if (port === undefined) return [];
    const healthy = service.useHealth ? report.health === 'healthy' : true;
    return [
      {
        service: service.name,
        job: job.record.name,
        podId: pod.record.podId,
        host: pod.record.hostname,
        port,
        healthy,
      },
    ];
  });
}

/** Keeps naming in step with the pods. */
export class NamingPublisher {
  /** One job's writes at a time, in order. */
  private readonly serial = new KeyedSerial();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly log: Logger,
  ) {}

  /** Publishes the pod's endpoints if they changed since the last call. */
  publish(job: JobState, pod: Pod): void {
    const endpoints = podEndpoints(job, pod);
    const text = JSON.stringify(endpoints);
    if (text === pod.runtime.published) return;
    pod.runtime.published = text;
    const name = job.record.name;
    const owner = namingOwnerOf(job.record);
    const write = this.serial.run(name, () =>
      endpoints.length === 0
        ? withdrawEndpoints(this.coordinator, name, pod.record.podId, owner)
        : publishEndpoints(this.coordinator, name, pod.record.podId, endpoints, owner),
    );
    void write.catch((error: unknown) => {
      pod.runtime.published = '';
      this.log.warn({ pod: pod.record.podId, err: String(error) }, 'endpoints not published; retried on the next pull');
    });
  }

  /** Withdraws a pod whose container ended. */
  withdraw(job: JobState, pod: Pod): void {
    pod.runtime.published = '';
    const owner = namingOwnerOf(job.record);
    void this.serial
      .run(job.record.name, () => withdrawEndpoints(this.coordinator, job.record.name, pod.record.podId, owner))
      .catch(() => undefined);
  }

  /** Withdraws every endpoint of a removed job (after its pending writes). */
  async withdrawJob(job: JobRecord): Promise<void> {
    await this.serial
      .run(job.name, () => withdrawJob(this.coordinator, job.name, namingOwnerOf(job)))
      .catch((error: unknown) => {
        this.log.warn({ job: job.name, err: String(error) }, 'naming entries of a removed job could not be withdrawn');
      });
  }
}
