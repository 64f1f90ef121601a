/**
 * A worker finds the leading AppMaster with nothing but addresses, over real gRPC: a real
 * AppMaster API standing by (authenticating, so a pod's token is one it cannot check) answers
 * NOT_LEADER naming the leader, which the worker was never told about, and the worker follows it;
 * an address where nothing listens is passed over. Then the leader's answers keep its list fresh.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../../core/coordinator/memory.js';
import type { ServingApi } from '../../../core/grpc-server.js';
import { createLogger } from '../../../core/logger.js';
import { eventually } from '../../../test/helpers/async-queue.js';
import { serveAppMasterApi } from '../api.js';
import { AppMaster } from '../appmaster.js';
import { FakeAppMaster, freePort } from './fake-appmaster.js';
import { AppWorker } from './worker.js';

let dir: string;
let leader: FakeAppMaster;
let standby: ServingApi;
let worker: AppWorker | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-worker-leader-'));
  leader = await FakeAppMaster.start();
  leader.pullIntervalMs = 100;
  const log = createLogger('test', 'silent');
  const idle = new AppMaster({
    coordinator: new MemoryCoordinator(),
    log,
    worker: () => ({ argv: [], appmasters: [] }),
  });
  // A standby of an authenticating AppMaster: no user token, no pod token is known to it.
  standby = await serveAppMasterApi(
    idle,
    '127.0.0.1:0',
    () => leader.address,
    () => undefined,
  );
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  leader.close();
  await standby.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A worker pulling with a pod token, from `appmasters` in this order. */
function startWorker(appmasters: string[]): AppWorker {
  worker = new AppWorker({
    appmasters,
    job: 'web',
    podId: 'web-0',
    taskId: 'web-0.abc',
    sandbox: dir,
    token: 'pod-token-the-standby-does-not-know',
    retryMs: { initialMs: 20, maxMs: 100 },
    logger: createLogger('test', 'silent'),
  });
  worker.start();
  return worker;
}

describe('an AppWorker without a coordinator', () => {
  it('follows a standby’s NOT_LEADER to the leader it was never told about', async () => {
    startWorker([standby.address]);
    await eventually(() => leader.pulls.length > 0, 10_000, 'a pull at the leader');
    expect(leader.pulls[0]).toMatchObject({ job: 'web', podId: 'web-0', taskId: 'web-0.abc' });
  });

  it('passes over an address where nothing listens, then follows the standby', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    startWorker([dead, standby.address]);
    await eventually(() => leader.pulls.length > 0, 10_000, 'a pull at the leader');
  });

  it("keeps the leader's list of AppMasters: after the leader moves, it finds the new one", async () => {
    const next = await FakeAppMaster.start();
    try {
      next.pullIntervalMs = 100;
      // The first leader names both; the worker was launched knowing only the first.
      leader.appmasters = [leader.address, next.address];
      startWorker([leader.address]);
      await eventually(() => leader.pulls.length > 1, 10_000, 'pulls at the first leader');
      leader.close();
      await eventually(() => next.pulls.length > 0, 10_000, 'a pull at the next leader');
    } finally {
      next.close();
    }
  });
});
