/**
 * GrantStore on a memory coordinator: grants per pool and `*`, revokes, listing, and the denial
 * message; admins pass without grants. Roles and act-for-users live beside pool authorities, and
 * bands above batch are authorities of their own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../coordinator/memory.js';
import type { Principal } from '../auth/principal.js';
import { Band } from '../bands.js';
import { bandAuthority, GrantStore } from './grants.js';
import { grantsKey } from './keys.js';

const alice: Principal = { user: 'alice', admin: false, kind: 'user' };
const root: Principal = { user: 'admin', admin: true, kind: 'user' };
let coordinator: MemoryCoordinator;

afterEach(async () => {
  await coordinator.close();
});

function store(): GrantStore {
  coordinator = new MemoryCoordinator();
  return new GrantStore(coordinator);
}

describe('GrantStore', () => {
  it('denies a user without grants with a message naming user, authority and pool', async () => {
    const grants = store();
    await expect(grants.authorize(alice, 'default', 'job:update')).rejects.toThrow(
      /^GALAXY_E_PERMISSION_DENIED: user alice lacks job:update in pool default/,
    );
    await expect(grants.authorize(root, 'default', 'job:update')).resolves.toBeUndefined();
  });

  it('grants per pool and through "*", and revokes exactly what was named', async () => {
    const grants = store();
    await grants.grant('alice', 'default', ['job:create', 'job:list']);
    expect(await grants.holds(alice, 'default', 'job:create')).toBe(true);
    expect(await grants.holds(alice, 'gpu', 'job:create')).toBe(false);
    await grants.grant('alice', '*', ['job:list']);
    expect(await grants.holds(alice, 'gpu', 'job:list')).toBe(true);
    await grants.revoke('alice', 'default', ['job:create']);
    expect(await grants.holds(alice, 'default', 'job:create')).toBe(false);
    expect(await grants.holds(alice, 'default', 'job:list')).toBe(true);
    expect(await grants.list()).toEqual([{ user: 'alice', pools: { default: ['job:list'], '*': ['job:list'] } }]);
    await grants.revoke('alice', 'default');
    await grants.revoke('alice', '*');
    expect(await grants.list()).toEqual([]);
    expect(await coordinator.get(grantsKey('alice'))).toBeUndefined();
  });

  it('refuses unknown authorities and bad names, changing nothing', async () => {
    const grants = store();
    await expect(grants.grant('alice', 'default', ['job:destroy'])).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    await expect(grants.grant('Alice', 'default', ['job:list'])).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    await expect(grants.grant('alice', 'a/b', ['job:list'])).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    expect(await grants.list()).toEqual([]);
  });

  it('sees a grant written by another store once its short cache expires', async () => {
    let now = 0;
    coordinator = new MemoryCoordinator();
    const checker = new GrantStore(coordinator, { cacheMs: 1000, now: () => now });
    const admin = new GrantStore(new MemoryCoordinator(coordinator.store));
    expect(await checker.holds(alice, 'default', 'job:list')).toBe(false);
    await admin.grant('alice', 'default', ['job:list']);
    expect(await checker.holds(alice, 'default', 'job:list')).toBe(false);
    now = 1001;
    expect(await checker.holds(alice, 'default', 'job:list')).toBe(true);
  });

  it('keeps every grant when many are made at once (compare-and-set)', async () => {
    const grants = store();
    const pools = Array.from({ length: 20 }, (_, i) => `pool${i}`);
    await Promise.all(pools.map((p) => grants.grant('alice', p, ['job:list'])));
    expect(Object.keys((await grants.grantsOf('alice')).pools).sort()).toEqual([...pools].sort());
  });

  it('filters pools for listings; agents and pods hold nothing', async () => {
    const grants = store();
    await grants.grant('alice', 'default', ['job:list']);
    const visible = await grants.poolFilter(alice, 'job:list');
    expect([visible('default'), visible('gpu')]).toEqual([true, false]);
    expect(await grants.holds({ user: 'alice', admin: false, kind: 'pod' }, 'default', 'job:list')).toBe(false);
  });

  it('grants and revokes roles and act-for-users beside pool authorities, each leaving the others', async () => {
    const grants = store();
    await grants.grant('alice', 'default', ['job:list']);
    await grants.grantRoles('alice', { roles: ['eng/search', 'ops'] });
    await grants.grantRoles('alice', { actForUsers: true });
    expect(await grants.grantsOf('alice')).toEqual({
      pools: { default: ['job:list'] },
      roles: ['eng/search', 'ops'],
      actForUsers: true,
    });
    // Revoking a pool's authorities keeps the roles; revoking a role keeps the rest.
    await grants.revoke('alice', 'default');
    await grants.grantRoles('alice', { roles: ['ops'], revoke: true });
    expect(await grants.list()).toEqual([{ user: 'alice', pools: {}, roles: ['eng/search'], actForUsers: true }]);
    await grants.grantRoles('alice', { roles: ['eng/search'], actForUsers: true, revoke: true });
    expect(await coordinator.get(grantsKey('alice'))).toBeUndefined();
    expect(await grants.list()).toEqual([]);
  });

  it('refuses a malformed role or an empty role grant, changing nothing', async () => {
    const grants = store();
    await expect(grants.grantRoles('alice', { roles: ['../x'] })).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    await expect(grants.grantRoles('alice', { roles: [] })).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    await expect(grants.grantRoles('Alice', { roles: ['eng'] })).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    expect(await grants.list()).toEqual([]);
  });

  it('makes bands above batch authorities per pool: unspecified counts as production', async () => {
    expect(bandAuthority(Band.BAND_MONITORING)).toBe('band:monitoring');
    expect(bandAuthority(Band.BAND_PRODUCTION)).toBe('band:production');
    expect(bandAuthority(Band.BAND_UNSPECIFIED)).toBe('band:production');
    expect(bandAuthority(undefined)).toBe('band:production');
    expect(bandAuthority(Band.BAND_BATCH)).toBeUndefined();
    expect(bandAuthority(Band.BAND_BEST_EFFORT)).toBeUndefined();
    const grants = store();
    await grants.grant('alice', 'gpu', ['band:monitoring']);
    expect(await grants.holds(alice, 'gpu', 'band:monitoring')).toBe(true);
    expect(await grants.holds(alice, 'default', 'band:monitoring')).toBe(false);
  });
});
