/**
 * A promise-based client of the batch framework's API.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { clientOptions } from '../core/auth/client.js';
import { callUnary } from '../core/grpc-errors.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { channelCredentials, type TlsFiles } from '../core/tls.js';
import {
  BatchClient,
  type BatchJob,
  type BatchJobSpec,
  type CronJob,
  type CronSchedule,
  type ListBatchJobsResponse,
  type ListCronsResponse,
} from '../proto/gen/galaxy/v1/batch.js';

/** Calls against one batch framework. */
export class Batch {
  private readonly client: BatchClient;

  /** `token` and `tls` default to the CLI's ({@link cliToken}, {@link cliTls}). */
  constructor(
    private readonly address: string,
    token: string | undefined = cliToken(),
    tls: TlsFiles | undefined = cliTls(),
  ) {
    this.client = new BatchClient(address, channelCredentials(tls), clientOptions(token));
  }

  private unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
    return callUnary(`the batch framework at ${this.address}`, invoke);
  }

  submit(spec: BatchJobSpec): Promise<BatchJob> {
    return this.unary<BatchJob>((cb) => this.client.submit(spec, cb));
  }

  async list(): Promise<BatchJob[]> {
    return (await this.unary<ListBatchJobsResponse>((cb) => this.client.list({}, cb))).jobs;
  }

  show(name: string): Promise<BatchJob> {
    return this.unary<BatchJob>((cb) => this.client.show({ name }, cb));
  }

  cancel(name: string): Promise<BatchJob> {
    return this.unary<BatchJob>((cb) => this.client.cancel({ name }, cb));
  }

  createCron(spec: BatchJobSpec, schedule: CronSchedule): Promise<CronJob> {
    return this.unary<CronJob>((cb) => this.client.createCron({ spec, schedule }, cb));
  }

  async listCrons(): Promise<CronJob[]> {
    return (await this.unary<ListCronsResponse>((cb) => this.client.listCrons({}, cb))).crons;
  }

  showCron(name: string): Promise<CronJob> {
    return this.unary<CronJob>((cb) => this.client.showCron({ name }, cb));
  }

  deleteCron(name: string): Promise<CronJob> {
    return this.unary<CronJob>((cb) => this.client.deleteCron({ name }, cb));
  }

  suspendCron(name: string, suspend: boolean): Promise<CronJob> {
    return this.unary<CronJob>((cb) => this.client.suspendCron({ name, suspend }, cb));
  }

  close(): void {
    this.client.close();
  }
}
