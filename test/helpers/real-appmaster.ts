/**
 * The real AppMaster subscribed to a real master over loopback gRPC, on a local coordinator in a
 * fresh directory, for tests that need the whole of it (preemption, job plans). Whatever it starts
 * is pushed onto `cleanups`, to be run in reverse order after the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCoordinator } from '../../core/coordinator/index.js';
import { createLogger } from '../../core/logger.js';
import { startMaster, type Master } from '../../master/master.js';
import { fakeAgent, type FakeAgent } from './fake-agent.js';
import { GrpcSchedulerDriver } from '../../frameworks/sdk/scheduler-driver.js';
import { AppMaster } from '../../frameworks/appmaster/appmaster.js';

const MiB = 1024 ** 2;

/** A master allocating every 100 ms and one fake agent, host-a: 2 cpus, 2 GiB, ports 31000-31099. */
export async function startOneAgentCluster(cleanups: (() => unknown)[]): Promise<{ master: Master; agent: FakeAgent }> {
  const master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100 },
  });
  cleanups.push(() => master.stop());
  const agent = fakeAgent(master.address, {
    hostname: 'host-a',
    total: { cpus: 2000, mem: 2048 * MiB, disk: 10 * 1024 * MiB, gpus: 0, ports: [{ begin: 31000, end: 31099 }] },
  });
  cleanups.push(() => {
    agent.close();
  });
  await agent.registered;
  return { master, agent };
}

/** Starts the AppMaster against the master at `master`; gives it, its driver and its directory. */
export async function startRealAppMaster(
  master: string,
  cleanups: (() => unknown)[],
): Promise<{ appmaster: AppMaster; driver: GrpcSchedulerDriver; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'galaxy-appmaster-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const coordinator = await openCoordinator(`local:${join(dir, 'coord')}`);
  cleanups.push(() => coordinator.close());
  const appmaster = new AppMaster({
    coordinator,
    log: createLogger('appmaster', 'silent'),
    worker: () => ({ argv: ['true'], appmasters: ['127.0.0.1:1'] }),
  });
  const driver = new GrpcSchedulerDriver({
    master,
    framework: { name: 'appmaster', role: 'appmaster', failoverTimeoutS: 30 },
    reconnect: { initialMs: 50, maxMs: 200 },
    scheduler: {
      offers: (d, offers) => {
        appmaster.offers(d, offers);
      },
      update: (d, status) => {
        appmaster.update(d, status);
      },
      subscribed: () => {
        appmaster.subscribed();
      },
    },
  });
  cleanups.push(() => driver.stop());
  cleanups.push(() => appmaster.detach());
  await driver.start();
  appmaster.attach(driver);
  return { appmaster, driver, dir };
}
