/**
 * Options of a master, with Mesos-like defaults.
 */
import type { AllocatorOptions } from '../allocators/allocator.js';
import type { MasterPlugin } from './hooks.js';

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
};

/** How to start a master. */
export interface MasterOptions {
  /** Address to listen on, e.g. `127.0.0.1:5050`; port 0 picks a free port. */
  readonly listen: string;
  /** `drf` (default), `first-fit`, or a module path. */
  readonly allocator?: string;
  readonly allocatorOptions?: AllocatorOptions;
  readonly timings?: Partial<MasterTimings>;
  readonly plugins?: readonly MasterPlugin[];
  readonly logLevel?: string;
}
