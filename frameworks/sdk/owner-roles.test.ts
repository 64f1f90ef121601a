/**
 * The roles of a framework acting for users follow its jobs' owners: counted before it subscribes,
 * added (UPDATE_FRAMEWORK) before a new owner's first job is placed, dropped after the owner's last
 * job, never re-sent when unchanged; a refused role counts nothing. Offers fit a job only when
 * allocated to its owner's role.
 */
import { describe, expect, it } from 'vitest';
import { GalaxyError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { offerFits, OwnerRoles, type RolesDriver } from './owner-roles.js';

/** A driver that records UPDATE_FRAMEWORK and refuses roles named in `refuse`. */
function fakeDriver(subscribedWith: string[], refuse: string[] = []): RolesDriver & { updates: string[][] } {
  const updates: string[][] = [];
  let roles = subscribedWith;
  return {
    updates,
    get roles() {
      return roles;
    },
    updateFramework: (update) => {
      const next = [...(update.roles ?? [])];
      if (next.some((r) => refuse.includes(r)))
        return Promise.reject(new GalaxyError('GALAXY_E_PERMISSION_DENIED', 'not held'));
      updates.push(next);
      roles = next;
      return Promise.resolve();
    },
  };
}

const log = createLogger('test', 'silent');

describe('OwnerRoles', () => {
  it('subscribes with the owners of recovered jobs, then adds and drops roles as owners come and go', async () => {
    const roles = new OwnerRoles(log);
    roles.adopt('bob');
    roles.adopt('bob');
    expect(roles.roles()).toEqual(['bob']);
    const driver = fakeDriver(roles.roles());
    roles.attach(driver);
    await roles.hold('alice');
    expect(driver.updates).toEqual([['alice', 'bob']]);
    await roles.hold('alice'); // a second job of alice: nothing to tell
    expect(driver.updates).toEqual([['alice', 'bob']]);
    roles.release('bob');
    roles.release('bob'); // bob's last job: his role goes
    roles.release('alice'); // alice still has one
    await new Promise((r) => setTimeout(r, 10));
    await roles.hold('carol');
    expect(driver.updates).toEqual([['alice', 'bob'], ['alice'], ['alice', 'carol']]);
    roles.release('alice');
    roles.release('carol');
    await new Promise((r) => setTimeout(r, 10));
    expect(driver.updates.at(-1)).toEqual([]);
    expect(roles.roles()).toEqual([]);
  });

  it('counts before a driver is attached, without telling anyone', async () => {
    const roles = new OwnerRoles(log);
    await roles.hold('alice');
    expect(roles.roles()).toEqual(['alice']);
  });

  it('rejects a job whose owner role the master refuses, and counts nothing for it', async () => {
    const roles = new OwnerRoles(log);
    const driver = fakeDriver([], ['mallory']);
    roles.attach(driver);
    await roles.hold('alice');
    await expect(roles.hold('mallory')).rejects.toMatchObject({ code: 'GALAXY_E_PERMISSION_DENIED' });
    expect(roles.roles()).toEqual(['alice']);
    expect(driver.updates).toEqual([['alice']]);
  });
});

describe('offerFits', () => {
  it("fits a job only into offers of its owner's role (any, from a master that names none)", () => {
    expect(offerFits({ allocationRole: 'alice' }, 'alice')).toBe(true);
    expect(offerFits({ allocationRole: 'bob' }, 'alice')).toBe(false);
    expect(offerFits({ allocationRole: 'alice/x' }, 'alice')).toBe(false);
    expect(offerFits({}, 'alice')).toBe(true);
  });
});
