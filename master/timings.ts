/**
 * The master's timers, in their own module: the context, the options and every part that reads a
 * timer (accounting, the preemptor, the agents' pings) import them from here, not from the
 * options, so none of those modules imports another in a circle.
 */

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
  /** How often new events are written to the coordinator, in one batch (`events/store.ts`). */
  readonly eventFlushMs: number;
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
  eventFlushMs: 1000,
  preemptionKillWaitMs: 15_000,
  preemptionImmunityMs: 60_000,
};
