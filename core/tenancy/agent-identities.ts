/**
 * Agents' own identities (docs/security.md, "Agents have their own identities"), stored under
 * `/galaxy/tenancy/join-tokens/<id>` and `/galaxy/tenancy/agent-credentials/<agentId>`:
 *
 * - an admin makes a **join token**, good for a number of first registrations within a time to
 *   live; an agent registering with it is given a new agent id and a credential bound to it;
 * - a **credential** is bound to one agent id: the agent registers with it from then on, only as
 *   that id. An admin may issue one for an agent id directly; issuing again replaces it, and
 *   revoking removes it.
 *
 * Like user tokens, only SHA-256 hashes are stored. {@link AgentIdentityStore.authenticate} answers
 * from memory (it runs on every gRPC call) and follows changes made elsewhere through watches.
 * The decisions (is a join token usable, what redeeming it leaves) are pure functions below.
 */
import { randomBytes } from 'node:crypto';
import type { Coordinator, Unwatch } from '../coordinator/coordinator.js';
import { GalaxyError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import { newToken, tokenHash } from '../auth/tokens.js';
import { checkId } from '../validate.js';
import { mapConcurrently } from '../concurrency.js';
import { readJson, updateJson } from './cas.js';
import { AGENT_CREDENTIALS_DIR, JOIN_TOKENS_DIR, agentCredentialKey, joinTokenKey } from './keys.js';
import { AGENT_USER } from './users.js';

/** A join token as stored: never the token itself. */
export interface JoinTokenRecord {
  readonly id: string;
  readonly sha256: string;
  /** ms since epoch. */
  readonly createdAt: number;
  /** ms since epoch; the token admits no agent from then on. */
  readonly expiresAt: number;
  /** How many first registrations it admits. */
  readonly uses: number;
  /** How many it has admitted. */
  readonly used: number;
}

/** An agent's credential as stored: never the credential itself. */
export interface AgentCredentialRecord {
  readonly agentId: string;
  readonly id: string;
  readonly sha256: string;
  readonly createdAt: number;
}

/** What `galaxy agent join-tokens` shows of a join token. */
export type JoinTokenInfo = Omit<JoinTokenRecord, 'sha256'>;

/** Longest time to live of a join token: a week (they admit machines; they should not linger). */
export const MAX_JOIN_TOKEN_TTL_MS = 7 * 24 * 3600 * 1000;
/** Most uses of one join token. */
export const MAX_JOIN_TOKEN_USES = 10_000;

/** Why a join token admits no agent at `now`, or undefined when it still does. */
export function joinTokenRefusal(record: JoinTokenRecord, now: number): string | undefined {
  if (now >= record.expiresAt)
    return `join token ${record.id} expired at ${new Date(record.expiresAt).toISOString()}; an admin makes a new one (galaxy agent join-token)`;
  if (record.used >= record.uses)
    return `join token ${record.id} is used up (${record.used} of ${record.uses} uses); an admin makes a new one (galaxy agent join-token)`;
  return undefined;
}

/** The record after one more use at `now`; `GALAXY_E_UNAUTHENTICATED` when it admits no more agents. */
export function redeemJoinToken(record: JoinTokenRecord, now: number): JoinTokenRecord {
  return redeemJoinTokenUses(record, now, 1).record;
}

/**
 * The record after up to `wanted` more uses at `now`, and how many it granted (the uses it had
 * left, at most); `GALAXY_E_UNAUTHENTICATED` when it admits no agent at all.
 */
export function redeemJoinTokenUses(
  record: JoinTokenRecord,
  now: number,
  wanted: number,
): { record: JoinTokenRecord; granted: number } {
  const refusal = joinTokenRefusal(record, now);
  if (refusal !== undefined) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', refusal);
  const granted = Math.min(wanted, record.uses - record.used);
  return { record: { ...record, used: record.used + granted }, granted };
}

/** A registration waiting for its use of a join token. */
interface UseWaiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Checks a join token request: a time to live of 1 s to a week and 1 to 10,000 uses. */
export function checkJoinTokenRequest(ttlMs: number, uses: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs < 1000 || ttlMs > MAX_JOIN_TOKEN_TTL_MS)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `a join token's time to live must be from 1 s to 7 d, got ${String(ttlMs / 1000)} s`,
    );
  if (!Number.isSafeInteger(uses) || uses < 1 || uses > MAX_JOIN_TOKEN_USES)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `a join token's uses must be a whole number from 1 to ${MAX_JOIN_TOKEN_USES}, got ${String(uses)}`,
    );
}

function parse<T>(value: string | undefined, valid: (v: Partial<T>) => boolean): T | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<T>;
    return valid(parsed) ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}

const parseJoinToken = (value: string | undefined): JoinTokenRecord | undefined =>
  parse<JoinTokenRecord>(value, (r) => typeof r.id === 'string' && typeof r.sha256 === 'string');
const parseCredential = (value: string | undefined): AgentCredentialRecord | undefined =>
  parse<AgentCredentialRecord>(value, (r) => typeof r.agentId === 'string' && typeof r.sha256 === 'string');

function info(record: JoinTokenRecord): JoinTokenInfo {
  return {
    id: record.id,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    uses: record.uses,
    used: record.used,
  };
}

/** Join tokens and agent credentials over a {@link Coordinator}. */
export class AgentIdentityStore {
  /** join token id → record. */
  private readonly joinTokens = new Map<string, JoinTokenRecord>();
  /** agent id → credential record. */
  private readonly credentials = new Map<string, AgentCredentialRecord>();
  /** sha256 → join token id or credential's agent id. */
  private readonly byHash = new Map<string, { kind: 'join' | 'credential'; id: string }>();
  private readonly unwatch: Unwatch[] = [];
  private readonly replacedListeners: ((agentId: string) => void)[] = [];
  /** Per join token: the registrations waiting for the next write of its uses. */
  private readonly useBatches = new Map<string, UseWaiter[]>();
  /** Per join token: the write of its uses under way (the next batch waits for it). */
  private readonly useWrites = new Map<string, Promise<void>>();

  private constructor(
    private readonly coordinator: Coordinator,
    private readonly now: () => number,
  ) {}

  /** Loads every join token and credential and follows later changes. */
  static async open(coordinator: Coordinator, now: () => number = Date.now): Promise<AgentIdentityStore> {
    const store = new AgentIdentityStore(coordinator, now);
    store.unwatch.push(
      coordinator.watch(JOIN_TOKENS_DIR, (change) => {
        const id = change.key.slice(JOIN_TOKENS_DIR.length + 1);
        if (id !== '' && !id.includes('/')) store.rememberJoinToken(id, parseJoinToken(change.value));
      }),
      coordinator.watch(AGENT_CREDENTIALS_DIR, (change) => {
        const id = change.key.slice(AGENT_CREDENTIALS_DIR.length + 1);
        if (id !== '' && !id.includes('/')) store.rememberCredential(id, parseCredential(change.value));
      }),
    );
    // Reads overlap: a cell's thousands of credentials, one round trip after another, took
    // longer than a master's start may (issue 16).
    const tokens = await coordinator.list(JOIN_TOKENS_DIR);
    const tokenValues = await mapConcurrently(tokens, 64, (id) => coordinator.get(joinTokenKey(id)));
    tokens.forEach((id, i) => {
      store.rememberJoinToken(id, parseJoinToken(tokenValues[i]?.value));
    });
    const agents = await coordinator.list(AGENT_CREDENTIALS_DIR);
    const credentialValues = await mapConcurrently(agents, 64, (id) => coordinator.get(agentCredentialKey(id)));
    agents.forEach((id, i) => {
      store.rememberCredential(id, parseCredential(credentialValues[i]?.value));
    });
    return store;
  }

  /**
   * The principal of a token: an agent bound to its id for a credential, an agent holding a join
   * token for a usable one. An expired or used-up join token throws `GALAXY_E_UNAUTHENTICATED`
   * saying so; an unknown token gives undefined. Synchronous (from memory).
   */
  readonly authenticate = (token: string): Principal | undefined => {
    const found = this.byHash.get(tokenHash(token));
    if (!found) return undefined;
    if (found.kind === 'credential')
      return Object.freeze({ user: AGENT_USER, admin: false, kind: 'agent' as const, agentId: found.id });
    const record = this.joinTokens.get(found.id);
    if (!record) return undefined;
    const refusal = joinTokenRefusal(record, this.now());
    if (refusal !== undefined) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', refusal);
    return Object.freeze({ user: AGENT_USER, admin: false, kind: 'agent' as const, joinToken: record.id });
  };

  /** Makes a join token; the token is in the answer and nowhere else. */
  async createJoinToken(ttlMs: number, uses: number): Promise<{ info: JoinTokenInfo; token: string }> {
    checkJoinTokenRequest(ttlMs, uses);
    await this.pruneExpired();
    const token = newToken();
    const now = this.now();
    const record: JoinTokenRecord = {
      id: `jt-${randomBytes(6).toString('hex')}`,
      sha256: tokenHash(token),
      createdAt: now,
      expiresAt: now + ttlMs,
      uses,
      used: 0,
    };
    await this.coordinator.put(joinTokenKey(record.id), JSON.stringify(record), { expectedVersion: -1 });
    this.rememberJoinToken(record.id, record);
    return { info: info(record), token };
  }

  /** Revokes a join token; `GALAXY_E_INVALID_ARGUMENT` if there is none of that id. */
  async revokeJoinToken(id: string): Promise<void> {
    checkId(id, 'join token id');
    if (!(await this.coordinator.get(joinTokenKey(id))))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `there is no join token ${id}; "galaxy agent credentials" lists them`,
      );
    await this.coordinator.delete(joinTokenKey(id));
    this.rememberJoinToken(id, undefined);
  }

  /**
   * Spends one use of join token `joinTokenId` (compare-and-set, so concurrent registrations
   * never exceed its uses) and issues the credential of the new agent `agentId`. Throws
   * `GALAXY_E_UNAUTHENTICATED` when the token is gone, expired or used up, changing nothing.
   */
  async redeem(joinTokenId: string, agentId: string): Promise<string> {
    await this.spendUse(joinTokenId);
    return this.issueCredential(agentId);
  }

  /**
   * Spends one use of a join token. The registrations that arrive while the token's previous
   * write is under way share its next write (a group commit): thousands of agents joining at once
   * cost a few compare-and-sets of the token's record, not thousands that lose to each other and
   * retry (issue 16: 300 agents took 219 s to join that way).
   */
  private spendUse(joinTokenId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const forming = this.useBatches.get(joinTokenId);
      if (forming) {
        forming.push({ resolve, reject });
        return;
      }
      const batch: UseWaiter[] = [{ resolve, reject }];
      this.useBatches.set(joinTokenId, batch);
      const previous = this.useWrites.get(joinTokenId) ?? Promise.resolve();
      const write = previous.then(() => {
        // From here on, newcomers form the next batch, written after this one.
        this.useBatches.delete(joinTokenId);
        return this.commitUses(joinTokenId, batch);
      });
      this.useWrites.set(joinTokenId, write);
      void write.then(() => {
        if (this.useWrites.get(joinTokenId) === write) this.useWrites.delete(joinTokenId);
      });
    });
  }

  /** One compare-and-set for the batch's uses; the waiters past the uses left are refused. */
  private async commitUses(joinTokenId: string, batch: readonly UseWaiter[]): Promise<void> {
    let granted = 0;
    try {
      await updateJson<JoinTokenRecord>(this.coordinator, joinTokenKey(joinTokenId), (current) => {
        if (!current) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', `join token ${joinTokenId} was revoked`);
        const spent = redeemJoinTokenUses(current, this.now(), batch.length);
        granted = spent.granted;
        return spent.record;
      });
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    batch.forEach((waiter, i) => {
      if (i < granted) waiter.resolve();
      else
        waiter.reject(
          new GalaxyError(
            'GALAXY_E_UNAUTHENTICATED',
            `join token ${joinTokenId} is used up; an admin makes a new one (galaxy agent join-token)`,
          ),
        );
    });
  }

  /**
   * A new credential for `agentId`, replacing its earlier one (whose holder is refused from now
   * on). The credential is in the answer and nowhere else.
   */
  async issueCredential(agentId: string): Promise<string> {
    checkId(agentId, 'agent id');
    const token = newToken();
    const record: AgentCredentialRecord = {
      agentId,
      id: `ac-${randomBytes(4).toString('hex')}`,
      sha256: tokenHash(token),
      createdAt: this.now(),
    };
    await this.coordinator.put(agentCredentialKey(agentId), JSON.stringify(record));
    this.rememberCredential(agentId, record);
    return token;
  }

  /** Removes `agentId`'s credential; `GALAXY_E_AGENT_UNKNOWN` when it has none. */
  async revokeCredential(agentId: string): Promise<void> {
    checkId(agentId, 'agent id');
    if (!(await readJson(this.coordinator, agentCredentialKey(agentId))))
      throw new GalaxyError(
        'GALAXY_E_AGENT_UNKNOWN',
        `agent ${agentId} has no credential; "galaxy agent credentials" lists the agents that do`,
      );
    await this.coordinator.delete(agentCredentialKey(agentId));
    this.rememberCredential(agentId, undefined);
  }

  /** Agents with credentials, and join tokens not yet expired, sorted by id, read from the coordinator. */
  async list(): Promise<{ credentials: { agentId: string; createdAt: number }[]; joinTokens: JoinTokenInfo[] }> {
    await this.pruneExpired();
    const credentials: { agentId: string; createdAt: number }[] = [];
    for (const id of await this.coordinator.list(AGENT_CREDENTIALS_DIR)) {
      const record = parseCredential((await this.coordinator.get(agentCredentialKey(id)))?.value);
      if (record) credentials.push({ agentId: record.agentId, createdAt: record.createdAt });
    }
    const joinTokens: JoinTokenInfo[] = [];
    for (const id of await this.coordinator.list(JOIN_TOKENS_DIR)) {
      const record = parseJoinToken((await this.coordinator.get(joinTokenKey(id)))?.value);
      if (record) joinTokens.push(info(record));
    }
    return { credentials, joinTokens };
  }

  /**
   * Calls `listener` with an agent's id whenever a credential it held is revoked or replaced, by
   * this process or another: its holder must not stay connected.
   */
  onCredentialReplaced(listener: (agentId: string) => void): void {
    this.replacedListeners.push(listener);
  }

  /** Stops following changes. */
  close(): void {
    for (const stop of this.unwatch.splice(0)) stop();
  }

  /** Deletes join tokens that expired (they can admit nobody any more). */
  private async pruneExpired(): Promise<void> {
    const now = this.now();
    for (const [id, record] of [...this.joinTokens]) {
      if (now < record.expiresAt) continue;
      await this.coordinator.delete(joinTokenKey(id));
      this.rememberJoinToken(id, undefined);
    }
  }

  private rememberJoinToken(id: string, record: JoinTokenRecord | undefined): void {
    const old = this.joinTokens.get(id);
    if (old) this.byHash.delete(old.sha256);
    if (!record) {
      this.joinTokens.delete(id);
      return;
    }
    this.joinTokens.set(id, record);
    this.byHash.set(record.sha256, { kind: 'join', id });
  }

  private rememberCredential(agentId: string, record: AgentCredentialRecord | undefined): void {
    const old = this.credentials.get(agentId);
    if (old?.sha256 === record?.sha256) return;
    if (old) this.byHash.delete(old.sha256);
    if (record) {
      this.credentials.set(agentId, record);
      this.byHash.set(record.sha256, { kind: 'credential', id: agentId });
    } else {
      this.credentials.delete(agentId);
    }
    if (old) for (const listener of this.replacedListeners) listener(agentId);
  }
}
