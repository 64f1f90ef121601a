/**
 * A client of the batch framework's API: the one typed promise client (`core/promise-client.ts`)
 * with the CLI's credentials, and the shapes its callers want (lists as arrays, names as strings).
 */
import type { PromiseClient } from '../core/promise-client.js';
import type { TlsFiles } from '../core/tls.js';
import {
  BatchService,
  type BatchJob,
  type BatchJobSpec,
  type CronJob,
  type CronSchedule,
} from '../proto/gen/galaxy/v1/batch.js';
import { cliClient } from './operator-client.js';

/** Calls against one batch framework. */
export class Batch {
  private readonly api: PromiseClient<typeof BatchService>;

  /** `token` and `tls` default to the CLI's. */
  constructor(address: string, token?: string, tls?: TlsFiles) {
    this.api = cliClient(BatchService, address, 'the batch framework', token, tls);
  }

  submit(spec: BatchJobSpec): Promise<BatchJob> {
    return this.api.submit(spec);
  }

  async list(): Promise<BatchJob[]> {
    return (await this.api.list({})).jobs;
  }

  show(name: string): Promise<BatchJob> {
    return this.api.show({ name });
  }

  cancel(name: string): Promise<BatchJob> {
    return this.api.cancel({ name });
  }

  createCron(spec: BatchJobSpec, schedule: CronSchedule): Promise<CronJob> {
    return this.api.createCron({ spec, schedule });
  }

  async listCrons(): Promise<CronJob[]> {
    return (await this.api.listCrons({})).crons;
  }

  showCron(name: string): Promise<CronJob> {
    return this.api.showCron({ name });
  }

  deleteCron(name: string): Promise<CronJob> {
    return this.api.deleteCron({ name });
  }

  suspendCron(name: string, suspend: boolean): Promise<CronJob> {
    return this.api.suspendCron({ name, suspend });
  }

  close(): void {
    this.api.close();
  }
}
