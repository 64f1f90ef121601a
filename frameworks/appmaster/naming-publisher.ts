/**
 * Publishes each pod's service endpoints (service, host, port, healthy) to naming, writing only
 * when they change.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import { publishEndpoints, withdrawEndpoints, withdrawJob, type Endpoint } from '../sdk/naming.js';
import type { JobState } from './job-state.js';
import type { Pod } from './model.js';

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
    const write =
      endpoints.length === 0
        ? withdrawEndpoints(this.coordinator, name, pod.record.podId)
        : publishEndpoints(this.coordinator, name, pod.record.podId, endpoints);
    void write.catch((error: unknown) => {
      pod.runtime.published = '';
      this.log.warn({ pod: pod.record.podId, err: String(error) }, 'endpoints not published; retried on the next pull');
    });
  }

  /** Withdraws a pod whose container ended. */
  withdraw(job: string, pod: Pod): void {
    pod.runtime.published = '';
    void withdrawEndpoints(this.coordinator, job, pod.record.podId).catch(() => undefined);
  }

  /** Withdraws every endpoint of a removed job. */
  async withdrawJob(job: string): Promise<void> {
    await withdrawJob(this.coordinator, job).catch((error: unknown) => {
      this.log.warn({ job, err: String(error) }, 'naming entries of a removed job could not be withdrawn');
    });
  }
}
