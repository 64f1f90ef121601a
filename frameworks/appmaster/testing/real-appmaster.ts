/**
 * The real AppMaster subscribed to a real master over loopback gRPC, on a local coordinator in a
 * fresh directory, for tests that need the whole of it (preemption, job plans). Whatever it starts
 * is pushed onto `cleanups`, to be run in reverse order after the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCoordinator } from '../../../core/coordinator/index.js';
import { createLogger } from '../../../core/logger.js';
import { GrpcSchedulerDriver } from '../../sdk/scheduler-driver.js';
import { AppMaster } from '../appmaster.js';

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
      offers: (d, offers) => appmaster.offers(d, offers),
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
