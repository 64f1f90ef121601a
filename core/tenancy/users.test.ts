/**
 * The user store: names are checked, tokens are shown once and stored only as hashes, and
 * authentication follows adds, new tokens, revocations and removals (also those made through
 * another store on the same coordinator, as another process would).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator, MemoryStore } from '../coordinator/index.js';
import { tokenHash } from '../auth/tokens.js';
import { userKey } from './keys.js';
import { UserStore } from './users.js';

const open: { users: UserStore; coordinator: MemoryCoordinator }[] = [];

async function store(shared = new MemoryStore()): Promise<UserStore> {
  const coordinator = new MemoryCoordinator(shared);
  const users = await UserStore.open(coordinator);
  open.push({ users, coordinator });
  return users;
}

afterEach(async () => {
  for (const { users, coordinator } of open.splice(0)) {
    users.close();
    await coordinator.close();
  }
});

describe('UserStore', () => {
  it('adds a user with one token, stored only as its sha256, and authenticates it', async () => {
    const users = await store();
    const { user, token } = await users.add('alice');
    expect(token).toMatch(/^glx_[A-Za-z0-9_-]{43}$/);
    expect(user).toMatchObject({ name: 'alice', admin: false, kind: 'user', tokens: 1 });
    const stored = open[0]?.coordinator.get(userKey('alice'));
    const value = (await stored)?.value ?? '';
    expect(value).not.toContain(token);
    expect(value).toContain(tokenHash(token));
    expect(users.authenticate(token)).toEqual({ user: 'alice', admin: false, kind: 'user' });
    expect(users.authenticate(`${token}x`)).toBeUndefined();
    expect(users.authenticate('')).toBeUndefined();
  });

  it('refuses invalid names and duplicates with coded errors', async () => {
    const users = await store();
    await expect(users.add('Alice')).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT: user name "Alice" is invalid/);
    await expect(users.add('a'.repeat(33))).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    await expect(users.add('../x')).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    await users.add('bob');
    await expect(users.add('bob')).rejects.toThrow(/GALAXY_E_USER_DUPLICATE: user bob already exists/);
    await expect(users.remove('carol')).rejects.toThrow(/GALAXY_E_USER_UNKNOWN: there is no user carol/);
    await expect(users.issueToken('carol')).rejects.toThrow(/GALAXY_E_USER_UNKNOWN/);
  });

  it('issues more tokens, replaces and revokes them, and forgets a removed user', async () => {
    const users = await store();
    const first = (await users.add('ops', { admin: true })).token;
    const second = await users.issueToken('ops');
    expect(users.authenticate(first)?.admin).toBe(true);
    expect(users.authenticate(second)?.user).toBe('ops');
    expect((await users.get('ops'))?.tokens).toBe(2);
    const third = await users.issueToken('ops', { replace: true });
    expect(users.authenticate(first)).toBeUndefined();
    expect(users.authenticate(second)).toBeUndefined();
    expect(users.authenticate(third)?.user).toBe('ops');
    await users.revoke('ops');
    expect(users.authenticate(third)).toBeUndefined();
    const fourth = await users.issueToken('ops');
    await users.remove('ops');
    expect(users.authenticate(fourth)).toBeUndefined();
    expect(await users.list()).toEqual([]);
  });

  it('makes no user for agents to share (each agent has its own credential)', async () => {
    const users = await store();
    await expect(users.add('agent', { kind: 'agent' })).rejects.toThrow(
      /GALAXY_E_INVALID_ARGUMENT: agents do not share a user: give each agent a join token/,
    );
    expect(await users.list()).toEqual([]);
  });

  it("follows another store's writes through the coordinator watch", async () => {
    const shared = new MemoryStore();
    const here = await store(shared);
    const there = await store(shared);
    const { token } = await there.add('dave');
    expect(here.authenticate(token)?.user).toBe('dave');
    const next = await there.issueToken('dave', { replace: true });
    expect(here.authenticate(token)).toBeUndefined();
    expect(here.authenticate(next)?.user).toBe('dave');
    await there.remove('dave');
    expect(here.authenticate(next)).toBeUndefined();
  });

  it('loads the users that existed before it was opened', async () => {
    const shared = new MemoryStore();
    const { token } = await (await store(shared)).add('erin');
    const later = await store(shared);
    expect(later.authenticate(token)?.user).toBe('erin');
  });
});
