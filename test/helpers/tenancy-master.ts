/**
 * An in-process master that authenticates by a fixed token table and keeps its tenancy state
 * (grants, quotas) in a memory coordinator: the setup of the authority tests that talk to a
 * master over real gRPC with raw agents and frameworks. A fresh master per test.
 */
import { afterEach, beforeEach } from 'vitest';
import type { Authenticator, Principal } from '../../core/auth/principal.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { GrantStore } from '../../core/tenancy/grants.js';
import { startMaster, type Master } from '../../master/master.js';

/** The current test's master and its tenancy state; valid inside a test. */
export interface TenancyMaster {
  readonly master: Master;
  readonly coordinator: MemoryCoordinator;
  readonly grants: GrantStore;
  /** Runs `close` after the test, before the master stops (clients, raw agents). */
  closeAfter(close: () => void): void;
}

/**
 * Registers, in the calling scope, a `beforeEach` that starts a master authenticating the tokens of
 * `principals` and an `afterEach` that closes what the test asked and stops it.
 */
export function useTenancyMaster(principals: Record<string, Principal>): TenancyMaster {
  const authenticate: Authenticator = (token) => principals[token];
  const closers: (() => void)[] = [];
  let state: { master: Master; coordinator: MemoryCoordinator; grants: GrantStore } | undefined;
  const current = (): NonNullable<typeof state> => {
    if (state === undefined) throw new Error('the tenancy master runs only inside a test');
    return state;
  };
  beforeEach(async () => {
    const coordinator = new MemoryCoordinator();
    const master = await startMaster({
      listen: '127.0.0.1:0',
      logLevel: 'silent',
      timings: { allocationIntervalMs: 50, offerTimeoutMs: 0 },
      auth: { authenticate },
      tenancyCoordinator: coordinator,
    });
    state = { master, coordinator, grants: new GrantStore(coordinator) };
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    const { master, coordinator } = current();
    state = undefined;
    await master.stop();
    await coordinator.close();
  });
  return {
    get master() {
      return current().master;
    },
    get coordinator() {
      return current().coordinator;
    },
    get grants() {
      return current().grants;
    },
    closeAfter: (close) => {
      closers.push(close);
    },
  };
}
