/**
 * Coordinator keys of the tenancy state (see the Store table of `docs/tenancy.md`). Every module
 * that reads or writes tenancy state builds its keys here, so the layout lives in one place.
 */
import { joinKey } from '../coordinator/keys.js';

/** The root of all tenancy state. */
export const TENANCY_ROOT = '/galaxy/tenancy';

/** Parent of `users/<name>`. */
export const USERS_DIR = `${TENANCY_ROOT}/users`;
/** Parent of `grants/<user>`. */
export const GRANTS_DIR = `${TENANCY_ROOT}/grants`;
/** Parent of `quotas/<user>`. */
export const QUOTAS_DIR = `${TENANCY_ROOT}/quotas`;
/** Parent of `claims/<user>`. */
export const CLAIMS_DIR = `${TENANCY_ROOT}/claims`;
/** Parent of `pools/<name>`. */
export const POOLS_DIR = `${TENANCY_ROOT}/pools`;
/** Parent of `labels/<agentId>`. */
export const LABELS_DIR = `${TENANCY_ROOT}/labels`;
/** Parent of `agents/<agentId>` (pool and mode of an agent). */
export const AGENTS_DIR = `${TENANCY_ROOT}/agents`;
/** Parent of `reservations/<agentId>`. */
export const RESERVATIONS_DIR = `${TENANCY_ROOT}/reservations`;
/** Parent of `ledger/<user>/<pool>`. */
export const LEDGER_DIR = `${TENANCY_ROOT}/ledger`;
/** Parent of `join-tokens/<id>` (tokens that admit new agents). */
export const JOIN_TOKENS_DIR = `${TENANCY_ROOT}/join-tokens`;
/** Parent of `agent-credentials/<agentId>` (each agent's own credential). */
export const AGENT_CREDENTIALS_DIR = `${TENANCY_ROOT}/agent-credentials`;

/** `users/<name>`: `{ name, admin, kind?, tokens: [{ id, sha256, createdAt }], createdAt }`. */
export function userKey(name: string): string {
  return joinKey(USERS_DIR, name);
}

/** `grants/<user>`: `{ pools: { "<pool>" or "*": Authority[] } }`. */
export function grantsKey(user: string): string {
  return joinKey(GRANTS_DIR, user);
}

/** `quotas/<user>`: `{ limit, guarantee? }`. */
export function quotaKey(user: string): string {
  return joinKey(QUOTAS_DIR, user);
}

/** `claims/<user>`: `{ "<framework>/<job>": { cpus, mem, disk, replicas, pool } }`. */
export function claimsKey(user: string): string {
  return joinKey(CLAIMS_DIR, user);
}

/** `pools/<name>`: `{ name, description, createdAt }`. */
export function poolKey(name: string): string {
  return joinKey(POOLS_DIR, name);
}

/** `labels/<agentId>`: `{ labels: string[] }`. */
export function labelsKey(agentId: string): string {
  return joinKey(LABELS_DIR, agentId);
}

/** `agents/<agentId>`: `{ pool?, mode }`. */
export function agentModeKey(agentId: string): string {
  return joinKey(AGENTS_DIR, agentId);
}

/** `reservations/<agentId>`: `{ "<role>": Resources }`. */
export function reservationsKey(agentId: string): string {
  return joinKey(RESERVATIONS_DIR, agentId);
}

/** Parent of `ledger/<user>/<pool>`: every pool a user has accounting in. */
export function ledgerUserDir(user: string): string {
  return joinKey(LEDGER_DIR, user);
}

/** `ledger/<user>/<pool>`: accounting buckets. */
export function ledgerKey(user: string, pool: string): string {
  return joinKey(ledgerUserDir(user), pool);
}

/** `join-tokens/<id>`: `{ id, sha256, createdAt, expiresAt, uses, used }`. */
export function joinTokenKey(id: string): string {
  return joinKey(JOIN_TOKENS_DIR, id);
}

/** `agent-credentials/<agentId>`: `{ agentId, id, sha256, createdAt }`. */
export function agentCredentialKey(agentId: string): string {
  return joinKey(AGENT_CREDENTIALS_DIR, agentId);
}
