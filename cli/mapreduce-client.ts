/**
 * A promise-based client of the MapReduce framework's API.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { clientOptions } from '../core/auth/client.js';
import { callUnary } from '../core/grpc-errors.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { channelCredentials, type TlsFiles } from '../core/tls.js';
import { MapReduceClient, type MapReduceJob, type MapReduceJobSpec } from '../proto/gen/galaxy/v1/mapreduce.js';

/** Calls against one MapReduce framework. */
export class MapReduce {
  private readonly client: MapReduceClient;

  /** `token` and `tls` default to the CLI's ({@link cliToken}, {@link cliTls}). */
  constructor(
    private readonly address: string,
    token: string | undefined = cliToken(),
    tls: TlsFiles | undefined = cliTls(),
  ) {
    this.client = new MapReduceClient(address, channelCredentials(tls), clientOptions(token));
  }

  private unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
    return callUnary(`the mapreduce framework at ${this.address}`, invoke);
  }

  submit(spec: MapReduceJobSpec): Promise<MapReduceJob> {
    return this.unary<MapReduceJob>((cb) => this.client.submit(spec, cb));
  }

  show(name: string): Promise<MapReduceJob> {
    return this.unary<MapReduceJob>((cb) => this.client.show({ name }, cb));
  }

  cancel(name: string): Promise<MapReduceJob> {
    return this.unary<MapReduceJob>((cb) => this.client.cancel({ name }, cb));
  }

  close(): void {
    this.client.close();
  }
}
