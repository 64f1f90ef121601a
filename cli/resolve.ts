/**
 * `galaxy resolve <job> [--watch] [--service s]`: a job's service endpoints, read from naming.
 */
import { openCoordinator } from '../core/coordinator/index.js';
import { resolve, watchEndpoints, type Endpoint } from '../frameworks/sdk/naming.js';
import { render, type Column, type OutputFormat } from './output.js';

const ENDPOINT_COLUMNS: Column<Endpoint>[] = [
  { heading: 'SERVICE', value: (e) => e.service },
  { heading: 'ENDPOINT', value: (e) => `${e.host}:${e.port}` },
  { heading: 'HEALTHY', value: (e) => (e.healthy ? 'yes' : 'no') },
  { heading: 'POD', value: (e) => e.podId },
];

/** What `galaxy resolve` was asked. */
export interface ResolveOptions {
  /** The coordinator URL, e.g. `local:/var/lib/galaxy/coord`. */
  readonly coordinator: string;
  /** Print the endpoints again on every change, until `signal` aborts. */
  readonly watch?: boolean;
  /** Only the endpoints of this service. */
  readonly service?: string;
  readonly output: OutputFormat;
}

/**
 * Prints the endpoints of `job` through `out` and resolves with the exit code (0; failures
 * reject with a coded error). With `watch`, prints the list at once and after every change
 * until `signal` aborts: in JSON one list per line, so that a script can read it line by line.
 */
export async function resolveCommand(
  job: string,
  opts: ResolveOptions,
  out: (line: string) => void,
  signal?: AbortSignal,
): Promise<number> {
  const coord = await openCoordinator(opts.coordinator);
  try {
    if (opts.watch !== true) {
      out(render(await resolve(coord, job, opts.service), ENDPOINT_COLUMNS, opts.output));
      return 0;
    }
    let last: string | undefined;
    const print = (all: Endpoint[]): void => {
      const endpoints = all.filter((e) => opts.service === undefined || e.service === opts.service);
      const text = JSON.stringify(endpoints);
      if (text === last) return; // a change of another service
      last = text;
      if (opts.output === 'json') out(text);
      else
        out(
          `# ${new Date().toISOString()}  ${job}: ${endpoints.length} endpoint(s)\n${render(endpoints, ENDPOINT_COLUMNS, 'table')}`,
        );
    };
    await resolve(coord, job, opts.service); // refuses a bad job name before watching
    const unwatch = watchEndpoints(coord, job, print);
    await new Promise<void>((done) => {
      if (signal?.aborted === true) done();
      signal?.addEventListener(
        'abort',
        () => {
          done();
        },
        { once: true },
      );
    });
    unwatch();
    return 0;
  } finally {
    await coord.close();
  }
}
