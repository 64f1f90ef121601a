import { describe, expect, it } from 'vitest';
import { sandboxDenial, sandboxNeeds } from './sandbox.js';

describe('sandbox authorities', () => {
  it('needs nothing for the default container, task:run-as for a host user, an admin for root', () => {
    expect(sandboxNeeds('', [])).toEqual({ admin: false, authorities: [] });
    expect(sandboxNeeds('', ['KILL'])).toEqual({ admin: false, authorities: [] });
    expect(sandboxNeeds('alice', [])).toEqual({ admin: false, authorities: ['task:run-as'] });
    expect(sandboxNeeds('root', ['NET_ADMIN'])).toEqual({ admin: true, authorities: ['task:capabilities'] });
  });

  it('grants what the caller holds, refuses what it lacks, and root to admins only', () => {
    const holds = (held: string[]) => (a: string) => held.includes(a);
    const needs = sandboxNeeds('alice', ['SYS_ADMIN']);
    expect(sandboxDenial(needs, false, holds(['task:run-as', 'task:capabilities']))).toBeUndefined();
    expect(sandboxDenial(needs, false, holds(['task:run-as']))).toBe('needs task:capabilities');
    expect(sandboxDenial(sandboxNeeds('root', []), false, holds(['task:run-as']))).toMatch(/only an admin/);
    expect(sandboxDenial(sandboxNeeds('root', []), true, holds([]))).toBeUndefined();
  });
});
