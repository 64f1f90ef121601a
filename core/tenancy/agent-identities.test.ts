/**
 * Join tokens and agent credentials: a join token admits as many new agents as it has uses,
 * until it expires, and never more even when registrations race (whose uses are written
 * together, a few writes for a thousand registrations); each credential authenticates
 * as its one agent id; issuing again or revoking stops the old credential at once (also in another
 * process's store) and tells listeners; only hashes are stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../coordinator/index.js';
import { isGalaxyError } from '../errors.js';
import {
  AgentIdentityStore,
  checkJoinTokenRequest,
  joinTokenRefusal,
  redeemJoinToken,
  type JoinTokenRecord,
} from './agent-identities.js';
import { AGENT_CREDENTIALS_DIR, JOIN_TOKENS_DIR } from './keys.js';

const MINUTE = 60_000;

describe('join token rules', () => {
  const token: JoinTokenRecord = { id: 'jt-1', sha256: 'x', createdAt: 0, expiresAt: 10 * MINUTE, uses: 2, used: 0 };

  it('admit while unexpired and not used up', () => {
    expect(joinTokenRefusal(token, MINUTE)).toBeUndefined();
    expect(redeemJoinToken(token, MINUTE)).toEqual({ ...token, used: 1 });
    expect(joinTokenRefusal({ ...token, used: 1 }, MINUTE)).toBeUndefined();
  });

  it('refuse an expired or used-up token, saying which and how to get another', () => {
    expect(joinTokenRefusal(token, 10 * MINUTE)).toMatch(
      /^join token jt-1 expired at 1970-01-01T00:10:00\.000Z; an admin makes a new one \(galaxy agent join-token\)$/,
    );
    expect(joinTokenRefusal({ ...token, used: 2 }, MINUTE)).toMatch(/join token jt-1 is used up \(2 of 2 uses\)/);
    expect(() => redeemJoinToken({ ...token, used: 2 }, MINUTE)).toThrow(/^GALAXY_E_UNAUTHENTICATED: join token/);
  });

  it('bound the time to live and the uses', () => {
    expect(() => {
      checkJoinTokenRequest(500, 1);
    }).toThrow(/time to live must be from 1 s to 7 d/);
    expect(() => {
      checkJoinTokenRequest(8 * 24 * 3600 * 1000, 1);
    }).toThrow(/time to live/);
    expect(() => {
      checkJoinTokenRequest(MINUTE, 0);
    }).toThrow(/uses must be a whole number from 1 to 10000/);
    expect(() => {
      checkJoinTokenRequest(MINUTE, 1.5);
    }).toThrow(/uses/);
    expect(() => {
      checkJoinTokenRequest(MINUTE, 1);
    }).not.toThrow();
  });
});

describe('AgentIdentityStore', () => {
  let coordinator: MemoryCoordinator;
  let now: number;
  let store: AgentIdentityStore;
  const clock = (): number => now;

  beforeEach(async () => {
    coordinator = new MemoryCoordinator();
    now = 1_000_000;
    store = await AgentIdentityStore.open(coordinator, clock);
  });

  afterEach(async () => {
    store.close();
    await coordinator.close();
  });

  it('exchanges a join token for a credential bound to the new agent id', async () => {
    const { info, token } = await store.createJoinToken(10 * MINUTE, 1);
    expect(info).toMatchObject({ uses: 1, used: 0, expiresAt: now + 10 * MINUTE });
    expect(store.authenticate(token)).toEqual({ user: 'agent', admin: false, kind: 'agent', joinToken: info.id });
    const credential = await store.redeem(info.id, 'agent-a');
    expect(credential).toMatch(/^glx_[A-Za-z0-9_-]{43}$/);
    expect(store.authenticate(credential)).toEqual({ user: 'agent', admin: false, kind: 'agent', agentId: 'agent-a' });
    // Used up: the token is refused with the reason, and a second redemption changes nothing.
    expect(() => store.authenticate(token)).toThrow(/join token .* is used up \(1 of 1 uses\)/);
    await expect(store.redeem(info.id, 'agent-b')).rejects.toThrow(/GALAXY_E_UNAUTHENTICATED: join token .* used up/);
    expect((await store.list()).credentials.map((c) => c.agentId)).toEqual(['agent-a']);
    expect((await store.list()).joinTokens).toEqual([{ ...info, used: 1 }]);
  });

  it('never admits more agents than a join token has uses, even when registrations race', async () => {
    const { info } = await store.createJoinToken(MINUTE, 2);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => store.redeem(info.id, `agent-${String(i)}`)),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    for (const o of outcomes)
      if (o.status === 'rejected') expect(isGalaxyError(o.reason, 'GALAXY_E_UNAUTHENTICATED')).toBe(true);
    expect((await store.list()).credentials).toHaveLength(2);
  });

  it('spends the uses of registrations arriving together in a few writes of the token, not one each (no contention)', async () => {
    const { info } = await store.createJoinToken(MINUTE, 1000);
    const tokenWrites: number[] = [];
    const put = coordinator.put.bind(coordinator);
    coordinator.put = (key, value, options) => {
      if (key.startsWith(JOIN_TOKENS_DIR)) tokenWrites.push((JSON.parse(value) as JoinTokenRecord).used);
      return put(key, value, options);
    };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 1200 }, (_, i) => store.redeem(info.id, `agent-${String(i)}`)),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1000);
    expect(tokenWrites.length).toBeLessThanOrEqual(3);
    expect(tokenWrites.at(-1)).toBe(1000);
    expect((await store.list()).credentials).toHaveLength(1000);
  });

  it('refuses an expired join token and prunes it', async () => {
    const { info, token } = await store.createJoinToken(MINUTE, 5);
    now += MINUTE;
    expect(() => store.authenticate(token)).toThrow(/^GALAXY_E_UNAUTHENTICATED: join token .* expired at/);
    await expect(store.redeem(info.id, 'agent-late')).rejects.toThrow(/expired at/);
    expect((await store.list()).credentials).toEqual([]);
    expect((await store.list()).joinTokens).toEqual([]);
    expect(store.authenticate(token)).toBeUndefined();
  });

  it('stops a replaced or revoked credential at once and tells listeners, also in another store', async () => {
    const other = await AgentIdentityStore.open(coordinator, clock);
    const replaced: string[] = [];
    other.onCredentialReplaced((id) => replaced.push(id));
    const first = await store.issueCredential('agent-x');
    expect(other.authenticate(first)?.agentId).toBe('agent-x');
    const second = await store.issueCredential('agent-x');
    expect(store.authenticate(first)).toBeUndefined();
    expect(other.authenticate(first)).toBeUndefined();
    expect(other.authenticate(second)?.agentId).toBe('agent-x');
    await store.revokeCredential('agent-x');
    expect(store.authenticate(second)).toBeUndefined();
    expect(other.authenticate(second)).toBeUndefined();
    expect(replaced).toEqual(['agent-x', 'agent-x']);
    await expect(store.revokeCredential('agent-x')).rejects.toThrow(/GALAXY_E_AGENT_UNKNOWN: agent agent-x has no/);
    other.close();
  });

  it('revokes join tokens, and refuses malformed ids', async () => {
    const { info, token } = await store.createJoinToken(MINUTE, 1);
    await store.revokeJoinToken(info.id);
    expect(store.authenticate(token)).toBeUndefined();
    await expect(store.redeem(info.id, 'agent-z')).rejects.toThrow(/join token .* was revoked/);
    await expect(store.revokeJoinToken(info.id)).rejects.toThrow(/there is no join token/);
    await expect(store.issueCredential('../etc')).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT: agent id/);
  });

  it('stores hashes only', async () => {
    const { token } = await store.createJoinToken(MINUTE, 1);
    const credential = await store.issueCredential('agent-h');
    for (const dir of [JOIN_TOKENS_DIR, AGENT_CREDENTIALS_DIR]) {
      for (const name of await coordinator.list(dir)) {
        const value = (await coordinator.get(`${dir}/${name}`))?.value ?? '';
        expect(value).toMatch(/"sha256":"[0-9a-f]{64}"/);
        expect(value).not.toContain(token);
        expect(value).not.toContain(credential);
      }
    }
  });
});
