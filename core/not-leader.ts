/**
 * A standby's answer: GALAXY_E_NOT_LEADER naming the leader. One format, written and read here, so
 * that a client holding only a list of addresses (an AppWorker: it is never told the coordinator)
 * can follow a standby to the leader.
 */
import { GalaxyError, isGalaxyError } from './errors.js';

const LEADER = /; the leader is (\S+)$/;

/**
 * The refusal of a standby `what` (`master`, `AppMaster`) while `leader` leads ('' while nobody
 * does).
 */
export function notLeader(what: string, leader: string): GalaxyError {
  return new GalaxyError(
    'GALAXY_E_NOT_LEADER',
    leader === ''
      ? `this ${what} is a standby; no leader is elected yet`
      : `this ${what} is a standby; the leader is ${leader}`,
  );
}

/** The leader's address a NOT_LEADER error names; undefined for any other error, or while nobody leads. */
export function leaderNamedBy(error: unknown): string | undefined {
  if (!isGalaxyError(error, 'GALAXY_E_NOT_LEADER')) return undefined;
  return LEADER.exec(error.message)?.[1];
}
