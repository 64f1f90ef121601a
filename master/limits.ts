/**
 * The master's bounds (docs/security.md, "Nothing grows without bound"): what one principal may
 * hold, how much one call may ask for, how far a stream may fall behind, and how long records of
 * what is gone are kept.
 */
import { GalaxyError } from '../core/errors.js';
import type { ServerLimits } from '../core/grpc-limits.js';

/** The master's limits. */
export interface MasterLimits {
  /** The gRPC server's limits (`core/grpc-limits.ts`). */
  readonly server: Partial<ServerLimits>;
  /** Frameworks one principal may have registered at once: connected, or inside their failover timeout. */
  readonly frameworksPerPrincipal: number;
  /** Tasks one ACCEPT may launch. */
  readonly tasksPerAccept: number;
  /** Acknowledgements one ACKNOWLEDGE_MANY may carry. */
  readonly acknowledgementsPerCall: number;
  /**
   * Bytes written to a framework's or agent's stream and not yet taken by the peer; past this the
   * peer is disconnected (a framework's offers are rescinded, an agent's too).
   */
  readonly streamQueueBytes: number;
  /** Records of removed frameworks and of lost, gone or unreachable tasks are forgotten after this long… */
  readonly recordRetentionMs: number;
  /** …or, oldest first, once there are more than this many of a kind. */
  readonly maxRecords: number;
  /** Events the event log keeps (the oldest go first; docs/operations.md, "Events")… */
  readonly eventsRetained: number;
  /** …and for how long. */
  readonly eventsMaxAgeMs: number;
}

/** The defaults. */
export const DEFAULT_MASTER_LIMITS: MasterLimits = {
  server: {},
  frameworksPerPrincipal: 64,
  tasksPerAccept: 1000,
  acknowledgementsPerCall: 10_000,
  streamQueueBytes: 8 * 1024 * 1024,
  recordRetentionMs: 24 * 3600_000,
  maxRecords: 100_000,
  eventsRetained: 10_000,
  eventsMaxAgeMs: 7 * 24 * 3600_000,
};

/** The defaults with `overrides`; throws GALAXY_E_INVALID_ARGUMENT on a value that is not a positive whole number. */
export function masterLimits(overrides: Partial<MasterLimits> = {}): MasterLimits {
  const limits = { ...DEFAULT_MASTER_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value === 'object') continue; // server: checked by serverLimits
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `master limit ${name} must be a positive whole number, got ${String(value)}`,
      );
  }
  return limits;
}

/** Throws GALAXY_E_LIMIT_EXCEEDED when `principal` already has `registered` frameworks of at most `limit`. */
export function checkFrameworkCount(principal: string, registered: number, limit: number): void {
  if (registered < limit) return;
  throw new GalaxyError(
    'GALAXY_E_LIMIT_EXCEEDED',
    `${principal} already has ${registered} frameworks registered, the most one principal may have (limit frameworksPerPrincipal ${limit}); ` +
      'tear down the ones you no longer use, or re-subscribe with an existing framework id',
  );
}

/** Throws GALAXY_E_LIMIT_EXCEEDED when one ACKNOWLEDGE_MANY carries more than `limit` acknowledgements. */
export function checkAcknowledgementsPerCall(count: number, limit: number): void {
  if (count <= limit) return;
  throw new GalaxyError(
    'GALAXY_E_LIMIT_EXCEEDED',
    `the ACKNOWLEDGE_MANY carries ${count} acknowledgements; one call may carry at most ${limit} (limit acknowledgementsPerCall): split it`,
  );
}

/** Throws GALAXY_E_LIMIT_EXCEEDED when an ACCEPT launches more than `limit` tasks. */
export function checkTasksPerAccept(tasks: number, limit: number): void {
  if (tasks <= limit) return;
  throw new GalaxyError(
    'GALAXY_E_LIMIT_EXCEEDED',
    `the ACCEPT launches ${tasks} tasks; one ACCEPT may launch at most ${limit} (limit tasksPerAccept): split it`,
  );
}
