/**
 * The ownership rule of jobs, without I/O:
 * - a user acts on their own job with the verb's authority in its pool;
 * - another user's job needs `job:any` in its pool besides (neither alone is enough, and a
 *   grant in another pool does not count; `*` does);
 * - admins may do everything, agents and pods nothing;
 * - the denial names the user, what they lack, the pool and the fix, never the owner;
 * - a name another user's job holds is taken (admins included), the caller's own is 'own'.
 * Invariants (fast-check): no non-admin is allowed anything in a pool where they hold nothing,
 * and whatever a user may do to another's job they may do to their own.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { isGalaxyError } from '../errors.js';
import { AUTHORITIES, type Authority, type GrantsRecord } from './grants.js';
import { checkJobAccess, claimJobName, jobAccess } from './ownership.js';

const alice: Principal = { user: 'alice', admin: false, kind: 'user' };
const bob: Principal = { user: 'bob', admin: false, kind: 'user' };
const root: Principal = { user: 'admin', admin: true, kind: 'user' };
const alicesPod: Principal = { user: 'alice', admin: false, kind: 'pod' };
const agent: Principal = { user: 'agent', admin: false, kind: 'agent' };

const web = { name: 'web', owner: 'alice', pool: 'default' };
const grants = (pools: Record<string, Authority[]>): GrantsRecord => ({ pools });

describe('jobAccess', () => {
  it("lets a user act on their own job with the verb's authority in its pool, and nothing else", () => {
    const held = grants({ default: ['job:update'] });
    expect(jobAccess(alice, held, web, 'job:update')).toEqual({ allowed: true });
    expect(jobAccess(alice, held, web, 'job:remove')).toEqual({
      allowed: false,
      missing: ['job:remove'],
      othersJob: false,
    });
    expect(jobAccess(alice, held, { ...web, pool: 'gpu' }, 'job:update').allowed).toBe(false);
    expect(jobAccess(alice, undefined, web, 'job:update').allowed).toBe(false);
  });

  it("needs job:any besides the verb's authority for another user's job, both in the job's pool", () => {
    expect(jobAccess(bob, grants({ default: ['job:update'] }), web, 'job:update')).toEqual({
      allowed: false,
      missing: ['job:any'],
      othersJob: true,
    });
    expect(jobAccess(bob, grants({ default: ['job:any'] }), web, 'job:update')).toEqual({
      allowed: false,
      missing: ['job:update'],
      othersJob: true,
    });
    expect(jobAccess(bob, undefined, web, 'container:create')).toEqual({
      allowed: false,
      missing: ['container:create', 'job:any'],
      othersJob: true,
    });
    // job:any in another pool does not reach this one; "*" does.
    expect(jobAccess(bob, grants({ default: ['job:update'], gpu: ['job:any'] }), web, 'job:update').allowed).toBe(
      false,
    );
    expect(jobAccess(bob, grants({ default: ['job:update'], '*': ['job:any'] }), web, 'job:update').allowed).toBe(true);
    expect(jobAccess(bob, grants({ default: ['job:update', 'job:any'] }), web, 'job:update').allowed).toBe(true);
  });

  it('lets admins do everything and agents and pods nothing, whatever their user', () => {
    for (const authority of AUTHORITIES) expect(jobAccess(root, undefined, web, authority).allowed).toBe(true);
    const everything = grants({ '*': [...AUTHORITIES] });
    // A pod's principal carries its job's owner as user, but it is not that user.
    expect(jobAccess(alicesPod, everything, web, 'job:list')).toEqual({
      allowed: false,
      missing: ['job:list'],
      othersJob: false,
    });
    expect(jobAccess(agent, everything, web, 'job:remove').allowed).toBe(false);
  });

  it('never allows a non-admin anything in a pool where they hold nothing', () => {
    const authority = fc.constantFrom(...AUTHORITIES);
    const user = fc.constantFrom('alice', 'bob', 'carol');
    fc.assert(
      fc.property(user, user, fc.array(authority), authority, (caller, owner, elsewhere, wanted) => {
        const held = grants({ gpu: elsewhere });
        const access = jobAccess(
          { user: caller, admin: false, kind: 'user' },
          held,
          { owner, pool: 'default' },
          wanted,
        );
        return !access.allowed;
      }),
    );
  });

  it("allows nothing on another user's job that the caller could not do on their own", () => {
    const authority = fc.constantFrom(...AUTHORITIES);
    fc.assert(
      fc.property(fc.array(authority), fc.array(authority), authority, (inPool, everywhere, wanted) => {
        const held = grants({ default: inPool, '*': everywhere });
        const others = jobAccess(bob, held, web, wanted).allowed;
        const own = jobAccess(bob, held, { ...web, owner: 'bob' }, wanted).allowed;
        return !others || own;
      }),
    );
  });
});

describe('checkJobAccess', () => {
  it('throws a denial that names the user, what they lack, the pool and the grant, not the owner', () => {
    let thrown: unknown;
    try {
      checkJobAccess(bob, grants({ default: ['job:list'] }), web, 'job:update');
    } catch (error) {
      thrown = error;
    }
    expect(isGalaxyError(thrown, 'GALAXY_E_PERMISSION_DENIED')).toBe(true);
    expect(String(thrown)).toBe(
      'GalaxyError: GALAXY_E_PERMISSION_DENIED: user bob lacks job:update and job:any in pool default to act on job "web", ' +
        'which is another user\'s; an admin can grant them with "galaxy grant bob default job:update job:any"',
    );
    expect(String(thrown)).not.toContain('alice');
    // On one's own job the message is the plain one of a missing authority.
    expect(() => {
      checkJobAccess(alice, undefined, web, 'job:remove');
    }).toThrow(
      /^GALAXY_E_PERMISSION_DENIED: user alice lacks job:remove in pool default; an admin can grant it with "galaxy grant alice default job:remove"$/,
    );
    expect(() => {
      checkJobAccess(root, undefined, web, 'job:remove');
    }).not.toThrow();
  });
});

describe('claimJobName', () => {
  it("is free when nobody holds the name, 'own' for the caller's job, and taken for anyone else's", () => {
    expect(claimJobName(bob, 'web', undefined)).toBe('free');
    expect(claimJobName(alice, 'web', 'alice')).toBe('own');
    for (const caller of [bob, root, alicesPod]) {
      let thrown: unknown;
      try {
        claimJobName(caller, 'web', 'alice');
      } catch (error) {
        thrown = error;
      }
      expect(isGalaxyError(thrown, 'GALAXY_E_NAME_TAKEN')).toBe(true);
      // It says only that the name is taken: not whose, nor anything of the job.
      expect(String(thrown)).toBe('GalaxyError: GALAXY_E_NAME_TAKEN: the job name "web" is taken; choose another name');
    }
  });
});
