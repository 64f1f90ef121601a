/**
 * A client of the MapReduce framework's API: the one typed promise client
 * (`core/promise-client.ts`) with the CLI's credentials.
 */
import type { PromiseClient } from '../core/promise-client.js';
import type { TlsFiles } from '../core/tls.js';
import { MapReduceService, type MapReduceJob, type MapReduceJobSpec } from '../proto/gen/galaxy/v1/mapreduce.js';
import { cliClient } from './operator-client.js';

/** Calls against one MapReduce framework. */
export class MapReduce {
  private readonly api: PromiseClient<typeof MapReduceService>;

  /** `token` and `tls` default to the CLI's. */
  constructor(address: string, token?: string, tls?: TlsFiles) {
    this.api = cliClient(MapReduceService, address, 'the mapreduce framework', token, tls);
  }

  submit(spec: MapReduceJobSpec): Promise<MapReduceJob> {
    return this.api.submit(spec);
  }

  show(name: string): Promise<MapReduceJob> {
    return this.api.show({ name });
  }

  cancel(name: string): Promise<MapReduceJob> {
    return this.api.cancel({ name });
  }

  close(): void {
    this.api.close();
  }
}
