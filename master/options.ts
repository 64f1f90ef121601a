/**
 * Options of a master, with Mesos-like defaults.
 */
import type { AllocatorOptions } from '../allocators/allocator.js';
import type { MasterPlugin } from './hooks.js';
import type { ServerAuth } from '../core/auth/server.js';
import type { UserStore } from '../core/tenancy/users.js';
import type { Coordinator } from '../core/coordinator/coordinator.js';
import type { AccountingOptions } from './accounting.js';
import type { AgentIdentityStore } from '../core/tenancy/agent-identities.js';
import type { ServerTls } from '../core/tls.js';
import type { MasterLimits } from './limits.js';

/** The master's timers, in milliseconds. */
export interface MasterTimings {
  /** How often allocation runs without an event (Mesos `--allocation_interval`). */
  readonly allocationIntervalMs: number;
  /** Unanswered offers are rescinded after this long; 0 = never. */
  readonly offerTimeoutMs: number;
  /** The master pings each agent this often. */
  readonly agentPingIntervalMs: number;
  /** An agent that misses this many pings in a row is disconnected. */
  readonly agentMaxMissedPings: number;
  /** A disconnected agent has this long to re-register before its tasks become LOST. */
  readonly agentReregisterTimeoutMs: number;
  /** HEARTBEAT events to frameworks, this often. */
  readonly frameworkHeartbeatMs: number;
  /** Failover timeout of a framework that does not set its own. */
  readonly defaultFailoverTimeoutMs: number;
  /** First retry of a status update the master made itself. */
  readonly statusRetryMs: number;
  /** Preemption rate limit: at most this many victims at once… */
  readonly preemptionBurst: number;
  /** …refilled at this many victims per second. */
  readonly preemptionRatePerS: number;
  /** How long resources freed by a preemption are offered to its requester alone. */
  readonly preemptionSetAsideMs: number;
  /** Longest wait for the victims of a preemption to end before what they freed is offered. */
  readonly preemptionKillWaitMs: number;
  /** A task launched into set-aside resources is not preempted for this long (no cascade). */
  readonly preemptionImmunityMs: number;
}

/** Defaults close to Mesos', shortened where a single machine does not need patience. */
export const DEFAULT_TIMINGS: MasterTimings = {
  allocationIntervalMs: 1000,
  offerTimeoutMs: 30_000,
  agentPingIntervalMs: 5000,
  agentMaxMissedPings: 3,
  agentReregisterTimeoutMs: 30_000,
  frameworkHeartbeatMs: 5000,
  defaultFailoverTimeoutMs: 60_000,
  statusRetryMs: 1000,
  preemptionBurst: 20,
  preemptionRatePerS: 10,
  // Long enough for a framework busy with a burst of offers and updates to answer (measured 2-5 s
  // for 100 simultaneous preemptions on a loaded 2-core machine).
  preemptionSetAsideMs: 10_000,
  preemptionKillWaitMs: 15_000,
  preemptionImmunityMs: 60_000,
};

/** How to start a master. */
export interface MasterOptions {
  /** Address to listen on, e.g. `127.0.0.1:5050`; port 0 picks a free port. */
  readonly listen: string;
  /** An allocation policy: `drf` (default), `round-robin` (alias `first-fit`), or a module path. */
  readonly allocator?: string;
  readonly allocatorOptions?: AllocatorOptions;
  readonly timings?: Partial<MasterTimings>;
  readonly plugins?: readonly MasterPlugin[];
  readonly logLevel?: string;
  /** Authenticate every call (see `core/auth/server.ts`); without it (and without `users`) the master is open. */
  readonly auth?: ServerAuth;
  /** The cluster's users: calls authenticate against them and admins manage them (UserAdmin service). */
  readonly users?: UserStore;
  /** Usage sampling, flushing and retention of the accounting ledger. */
  readonly accounting?: AccountingOptions;
  /** Where grants, quotas and claims live (the Operator's tenancy RPCs; authorization of launches and kills). */
  readonly tenancyCoordinator?: Coordinator;
  /**
   * Agents' join tokens and credentials: agents authenticate with them and register only as
   * themselves; admins manage them (AgentIdentityAdmin service).
   */
  readonly agentIdentities?: AgentIdentityStore;
  /**
   * Serve without authenticating anyone (every caller is an admin). Required, as a deliberate
   * choice, when neither `auth`, `users` nor `agentIdentities` is given: a master is never open by
   * accident. Unit tests and `galaxy master --insecure-no-auth` set it.
   */
  readonly insecureNoAuth?: boolean;
  /** TLS of the master's port (see `core/tls.ts`); plaintext without. */
  readonly tls?: ServerTls;
  /** Overrides of the master's bounds (`master/limits.ts`). */
  readonly limits?: Partial<MasterLimits>;
}
