/**
 * One real ZooKeeper ensemble per test file, and the helpers the ZooKeeper coordinator's tests
 * share. Each coordinator a test opens gets a fresh chroot and is closed after the test.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { isGalaxyError, type ErrorCode } from '../../core/errors.js';
import { ZooKeeperCoordinator, type ZooKeeperOptions } from '../../core/coordinator/zookeeper.js';
import { fourLetter, startZkEnsemble, type ZkEnsemble } from './zk-ensemble.js';

/** What a test file gets from {@link useZkEnsemble}. */
export interface ZkFixture {
  /** The ensemble (set once `beforeAll` has run). */
  ensemble(): ZkEnsemble;
  /** Opens a coordinator under this test's chroot. */
  open(options?: ZooKeeperOptions): Promise<ZooKeeperCoordinator>;
  /** The index of the server that currently leads the ensemble. */
  leaderIndex(): Promise<number>;
}

/** Starts an ensemble of `size` servers (default 3) for the file and closes what each test opened. */
export function useZkEnsemble(size = 3): ZkFixture {
  let ensemble: ZkEnsemble | undefined;
  let chroots = 0;
  const opened: ZooKeeperCoordinator[] = [];
  const get = (): ZkEnsemble => {
    if (!ensemble) throw new Error('the ensemble is not started');
    return ensemble;
  };
  beforeAll(async () => {
    ensemble = await startZkEnsemble(size);
  }, 60_000);
  afterAll(async () => {
    await ensemble?.stop();
  });
  afterEach(async () => {
    chroots++;
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });
  return {
    ensemble: get,
    async open(options = {}) {
      const coordinator = await ZooKeeperCoordinator.open(get().connectString, {
        chroot: `/zk-${chroots}`,
        ...options,
      });
      opened.push(coordinator);
      return coordinator;
    },
    async leaderIndex() {
      for (const [i, server] of get().servers.entries()) {
        if ((await fourLetter(server.clientPort, 'srvr')).includes('Mode: leader')) return i;
      }
      throw new Error('no ZooKeeper server leads');
    },
  };
}

/** The error `promise` rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

/** Expects `promise` to reject with `code`; returns the error's text. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<string> {
  const error = await rejection(promise);
  expect(isGalaxyError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  return String(error);
}

/** Whether `promise` settles within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
}
