/**
 * A promise-based client of the AppMaster's API.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { clientOptions } from '../core/auth/client.js';
import { callUnary } from '../core/grpc-errors.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { channelCredentials, type TlsFiles } from '../core/tls.js';
import {
  AppMasterClient,
  type ExecResult,
  type JobStatus,
  type ListJobsResponse,
  type UpdateControl,
} from '../proto/gen/galaxy/v1/appmaster.js';

/** Calls against one AppMaster. */
export class AppMasterApi {
  private readonly client: AppMasterClient;

  /** `token` and `tls` default to the CLI's ({@link cliToken}, {@link cliTls}). */
  constructor(
    private readonly address: string,
    token: string | undefined = cliToken(),
    tls: TlsFiles | undefined = cliTls(),
  ) {
    this.client = new AppMasterClient(address, channelCredentials(tls), clientOptions(token));
  }

  private unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
    return callUnary(`the AppMaster at ${this.address}`, invoke);
  }

  submit(specJson: string): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.submitJob({ specJson }, cb));
  }

  update(specJson: string): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.updateJob({ specJson }, cb));
  }

  scale(name: string, replicas: number): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.scaleJob({ name, replicas }, cb));
  }

  control(name: string, control: UpdateControl): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.controlUpdate({ name, control }, cb));
  }

  stop(name: string): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.stopJob({ name }, cb));
  }

  remove(name: string): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.removeJob({ name }, cb));
  }

  recoverPod(name: string, podId: string): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.recoverPod({ name, podId }, cb));
  }

  exec(name: string, podId: string, command: string, timeoutS: number): Promise<ExecResult> {
    return this.unary<ExecResult>((cb) => this.client.execPod({ name, podId, command, timeoutS }, cb));
  }

  async list(): Promise<JobStatus[]> {
    return (await this.unary<ListJobsResponse>((cb) => this.client.listJobs({}, cb))).jobs;
  }

  show(name: string): Promise<JobStatus> {
    return this.unary<JobStatus>((cb) => this.client.showJob({ name }, cb));
  }

  close(): void {
    this.client.close();
  }
}
