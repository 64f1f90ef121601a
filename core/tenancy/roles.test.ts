/**
 * The ownership and role rules, without I/O: who may act as a framework, which roles a user holds
 * (own subtree, granted subtrees, act-for-users, admin), whose authorities a task in a role binds,
 * and which roles a framework runs in when it names none.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import {
  actingUser,
  effectiveRoles,
  holdsRole,
  mayActAs,
  missingRoles,
  requireActAs,
  roleCovers,
  roleOwner,
  type RoleHolder,
} from './roles.js';

const alice: RoleHolder = { user: 'alice', admin: false };
const root: RoleHolder = { user: 'root', admin: true };
const shared: RoleHolder = { user: 'appmaster', admin: false, actForUsers: true };
const granted: RoleHolder = { user: 'bob', admin: false, roles: ['eng', 'ops/db'] };

const user = (name: string, admin = false): Principal => ({ user: name, admin, kind: 'user' });

describe('framework ownership', () => {
  it('lets the owner and admins act as a framework, nobody else', () => {
    expect(mayActAs(user('alice'), 'alice')).toBe(true);
    expect(mayActAs(user('root', true), 'alice')).toBe(true);
    expect(mayActAs(user('bob'), 'alice')).toBe(false);
  });

  it("never lets an agent's or a pod's token act as a framework, even one carrying the owner's name", () => {
    expect(mayActAs({ user: 'alice', admin: false, kind: 'pod' }, 'alice')).toBe(false);
    expect(mayActAs({ user: 'agent', admin: false, kind: 'agent' }, 'agent')).toBe(false);
    // No principal of those kinds is ever an admin, but the kind alone decides.
    expect(mayActAs({ user: 'x', admin: true, kind: 'agent' }, 'alice')).toBe(false);
  });

  it('lets only admins claim a framework whose owner is not known', () => {
    expect(mayActAs(user('alice'), '')).toBe(false);
    expect(mayActAs(user('', false), '')).toBe(false);
    expect(mayActAs(user('root', true), '')).toBe(true);
  });

  it('refuses with a coded error naming the framework and the caller', () => {
    expect(() => {
      requireActAs(user('bob'), 'alice', 'fw-1');
    }).toThrow(/^GALAXY_E_PERMISSION_DENIED: framework fw-1 belongs to another user; bob may not act as it/);
  });
});

describe('roles', () => {
  it('a granted role covers its subtree, not its siblings or prefixes', () => {
    expect(roleCovers('eng', 'eng')).toBe(true);
    expect(roleCovers('eng', 'eng/search')).toBe(true);
    expect(roleCovers('eng', 'engineering')).toBe(false);
    expect(roleCovers('eng/search', 'eng')).toBe(false);
    // "*" is the default role, not every role.
    expect(roleCovers('*', 'eng')).toBe(false);
    expect(roleCovers('*', '*')).toBe(true);
  });

  it("a user holds its own role and below it, and nobody else's", () => {
    expect(holdsRole(alice, 'alice')).toBe(true);
    expect(holdsRole(alice, 'alice/batch')).toBe(true);
    expect(holdsRole(alice, 'bob')).toBe(false);
    expect(holdsRole(alice, 'alicex')).toBe(false);
    expect(holdsRole(alice, '*')).toBe(false);
    expect(missingRoles(alice, ['alice', 'bob', 'eng', 'alice/x'])).toEqual(['bob', 'eng']);
  });

  it('granted roles cover their subtrees', () => {
    expect(holdsRole(granted, 'eng/search')).toBe(true);
    expect(holdsRole(granted, 'ops/db')).toBe(true);
    expect(holdsRole(granted, 'ops')).toBe(false);
    expect(holdsRole(granted, 'alice')).toBe(false);
  });

  it("act-for-users holds every user's role, but not '*'; admins hold every role", () => {
    expect(holdsRole(shared, 'alice')).toBe(true);
    expect(holdsRole(shared, 'carol/web')).toBe(true);
    expect(holdsRole(shared, '*')).toBe(false);
    expect(holdsRole(root, '*')).toBe(true);
    expect(holdsRole(root, 'Eng')).toBe(true);
  });

  it('names the owner of a role by its first segment when that is a user name', () => {
    expect(roleOwner('alice')).toBe('alice');
    expect(roleOwner('alice/web')).toBe('alice');
    expect(roleOwner('*')).toBeUndefined();
    expect(roleOwner('Eng/search')).toBeUndefined();
  });
});

describe('the acting user of a task', () => {
  it("is the role's owner for a framework acting for users (act-for-users, or an admin's)", () => {
    expect(actingUser(shared, 'alice')).toBe('alice');
    expect(actingUser(shared, 'carol/web')).toBe('carol');
    expect(actingUser(root, 'alice')).toBe('alice');
  });

  it("is the framework's owner otherwise, whatever role it runs in", () => {
    expect(actingUser(granted, 'eng/search')).toBe('bob');
    expect(actingUser(alice, 'alice/x')).toBe('alice');
    // A role that names no user binds the owner, even for a framework acting for users.
    expect(actingUser(shared, '*')).toBe('appmaster');
    expect(actingUser(root, 'Eng')).toBe('root');
  });
});

describe('the roles a framework runs in', () => {
  it('are its roles when it names several, without duplicates', () => {
    expect(effectiveRoles({ role: 'x', roles: ['alice', 'bob', 'alice'] }, alice)).toEqual(['alice', 'bob']);
  });

  it('are its single role, else its subscriber\'s own role (an admin\'s: "*")', () => {
    expect(effectiveRoles({ role: 'eng', roles: [] }, alice)).toEqual(['eng']);
    expect(effectiveRoles({ role: '', roles: [] }, alice)).toEqual(['alice']);
    expect(effectiveRoles({ role: '', roles: [] }, root)).toEqual(['*']);
  });
});
