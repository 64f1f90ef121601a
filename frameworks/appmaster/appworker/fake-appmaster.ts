/**
 * A scripted AppMaster for tests: a real gRPC server implementing `AppWorkerPull` on loopback.
 * The test sets the order every pull gets (level-triggered, as the real AppMaster does); while
 * the order is NONE and no exec waits, a pull is held up to its `waitMs`. Exec requests are
 * repeated until a report carries their result.
 */
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { GalaxyServer } from '../../../core/grpc-server.js';
import { createServer, type AddressInfo } from 'node:net';
import {
  AppWorkerPullService,
  PullResponse,
  WorkerAction,
  type ExecRequest,
  type ExecResult,
  type PullRequest,
  type WorkerReport,
} from '../../../proto/gen/galaxy/v1/appmaster.js';
import type { ServerTls } from '../../../core/tls.js';

/** The order part of a response. */
export type FakeOrder = Partial<Omit<PullResponse, 'execs' | 'pullIntervalMs' | 'appmasters'>>;

/** A loopback AppMaster whose answers a test scripts. */
export class FakeAppMaster {
  /** Every pull received, oldest first. */
  readonly pulls: PullRequest[] = [];
  /** Exec results received, by exec id. */
  readonly results = new Map<string, ExecResult>();
  /** Sent as `pull_interval_ms` in every response. */
  pullIntervalMs = 10_000;
  /** Sent as `appmasters` in every response (the AppMasters a worker may look for the leader at). */
  appmasters: string[] = [];
  private order: FakeOrder = { action: WorkerAction.ACTION_NONE };
  private execs: ExecRequest[] = [];
  private readonly held = new Set<() => void>();

  private constructor(
    private readonly server: GalaxyServer,
    /** `127.0.0.1:<port>` to give the worker. */
    readonly address: string,
  ) {}

  /** Starts a fake on a free loopback port (serving TLS with `tls`, as a TLS AppMaster does). */
  static async start(tls?: ServerTls): Promise<FakeAppMaster> {
    const server = new GalaxyServer('fake AppMaster', tls ? { tls } : {});
    const created: { fake?: FakeAppMaster } = {};
    server.grpc.addService(AppWorkerPullService, {
      pull: (call: ServerUnaryCall<PullRequest, PullResponse>, callback: sendUnaryData<PullResponse>) => {
        created.fake?.onPull(call, callback);
      },
    });
    created.fake = new FakeAppMaster(server, await server.listen('127.0.0.1:0'));
    return created.fake;
  }

  /** The report of the latest pull. */
  get report(): WorkerReport | undefined {
    return this.pulls.at(-1)?.report;
  }

  /** Every later pull gets `order`; held pulls are answered at once. */
  setOrder(order: FakeOrder): void {
    this.order = order;
    this.releaseHeld();
  }

  /** Asks the worker to run `request` (repeated until its result arrives). */
  exec(request: ExecRequest): void {
    this.execs.push(request);
    this.releaseHeld();
  }

  /** Stops serving; calls in flight fail. */
  close(): void {
    for (const release of [...this.held]) release();
    this.server.forceStop();
  }

  private releaseHeld(): void {
    for (const release of [...this.held]) release();
  }

  private onPull(call: ServerUnaryCall<PullRequest, PullResponse>, callback: sendUnaryData<PullResponse>): void {
    this.pulls.push(call.request);
    for (const output of call.request.report?.execResults ?? []) {
      if (output.result) this.results.set(output.execId, output.result);
      this.execs = this.execs.filter((e) => e.execId !== output.execId);
    }
    const answer = (): void => {
      callback(
        null,
        PullResponse.fromPartial({
          ...this.order,
          execs: this.execs,
          pullIntervalMs: this.pullIntervalMs,
          appmasters: this.appmasters,
        }),
      );
    };
    if (this.order.action !== WorkerAction.ACTION_NONE || this.execs.length > 0) {
      answer();
      return;
    }
    const release = (): void => {
      clearTimeout(timer);
      this.held.delete(release);
      answer();
    };
    const timer = setTimeout(release, call.request.waitMs);
    this.held.add(release);
    call.on('cancelled', () => {
      clearTimeout(timer);
      this.held.delete(release);
    });
  }
}

/** A loopback port nothing listens on at the moment (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
