import { describe, expect, it } from 'vitest';
import { planRoot, stepArgs, type MountStep, type RootSpec } from './root-plan.js';

const SANDBOX = '/var/lib/galaxy/agent/sandboxes/fw/t-1';
const spec = (extra: Partial<RootSpec> = {}): RootSpec => ({
  layout: {
    system: [{ path: '/usr' }, { path: '/bin', symlink: 'usr/bin' }, { path: '/lib', symlink: 'usr/lib' }],
    etc: '/var/lib/galaxy/agent/runtime/etc',
    galaxy: ['/opt/galaxy/dist', '/opt/galaxy/node_modules', '/opt/galaxy/package.json'],
  },
  sandbox: SANDBOX,
  sandboxSource: SANDBOX,
  tmpBytes: 64 * 1024 ** 2,
  mounts: [],
  ...extra,
});
const at = (steps: MountStep[], dst: string) => steps.findIndex((s) => s.dst === dst);

describe('the root plan', () => {
  it("binds the host's system directories read-only (or makes the same links), and a generated /etc", () => {
    const steps = planRoot(spec());
    expect(steps.find((s) => s.dst === '/usr')).toEqual({
      type: 'bind',
      flags: ['ro', 'nosuid', 'nodev', 'rec'],
      arg: '/usr',
      dst: '/usr',
    });
    expect(steps.find((s) => s.dst === '/bin')).toEqual({ type: 'symlink', flags: [], arg: 'usr/bin', dst: '/bin' });
    expect(steps.find((s) => s.dst === '/etc')).toMatchObject({ type: 'bind', arg: spec().layout.etc });
    expect(steps.find((s) => s.dst === '/etc')?.flags).toContain('ro');
  });

  it("on an image: none of the host's system directories, the image's /etc but the host's names, a writable root", () => {
    const steps = planRoot(spec({ image: true, layout: { ...spec().layout, node: '/usr/bin/node' } }));
    expect(steps.some((s) => s.dst === '/usr' || s.dst === '/bin' || s.dst === '/lib' || s.dst === '/etc')).toBe(false);
    const etc = steps.filter((s) => s.dst.startsWith('/etc/'));
    expect(etc.map((s) => `${s.type} ${s.arg} ${s.dst}`)).toEqual([
      'bind /var/lib/galaxy/agent/runtime/etc/hosts /etc/hosts',
      'bind /var/lib/galaxy/agent/runtime/etc/hostname /etc/hostname',
      'bind /var/lib/galaxy/agent/runtime/etc/resolv.conf /etc/resolv.conf',
    ]);
    for (const step of etc) expect(step.flags).toContain('ro');
    // Node for the AppWorker, read-only; the root itself stays writable (the container's upper layer).
    expect(steps.find((s) => s.dst === '/usr/bin/node')).toMatchObject({ type: 'bind', arg: '/usr/bin/node' });
    expect(steps.find((s) => s.dst === '/usr/bin/node')?.flags).toContain('ro');
    expect(steps.some((s) => s.type === 'remount' && s.dst === '/')).toBe(false);
    expect(steps.find((s) => s.dst === SANDBOX)).toMatchObject({ type: 'bind' });
    expect(planRoot(spec()).at(-1)).toMatchObject({ type: 'remount', dst: '/' });
  });

  it('mounts its own /proc, then makes its kernel knobs read-only and hides what shows the host', () => {
    const steps = planRoot(spec());
    const proc = at(steps, '/proc');
    expect(steps[proc]?.type).toBe('proc');
    expect(steps.find((s) => s.dst === '/proc/sys')).toMatchObject({ type: 'protect' });
    expect(steps.find((s) => s.dst === '/proc/sys')?.flags).toContain('ro');
    for (const hidden of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug'])
      expect(steps.find((s) => s.dst === hidden)?.type, hidden).toBe('mask');
    expect(at(steps, '/proc/sys')).toBeGreaterThan(proc);
  });

  it('makes a minimal, read-only /dev: the usual devices, a private pts and shm, the std links', () => {
    const steps = planRoot(spec());
    const devices = steps.filter((s) => s.type === 'mknod').map((s) => `${s.dst} ${s.arg}`);
    expect(devices).toEqual([
      '/dev/null 1:3',
      '/dev/zero 1:5',
      '/dev/full 1:7',
      '/dev/random 1:8',
      '/dev/urandom 1:9',
      '/dev/tty 5:0',
    ]);
    expect(steps.find((s) => s.dst === '/dev/pts')?.type).toBe('mkdir');
    expect(steps.find((s) => s.type === 'devpts')?.arg).toContain('newinstance');
    expect(steps.find((s) => s.dst === '/dev/stdout')).toMatchObject({ type: 'symlink', arg: '/proc/self/fd/1' });
    expect(steps.filter((s) => s.dst === '/dev').map((s) => s.type)).toEqual(['tmpfs', 'remount']);
  });

  it('binds the sandbox at its own path after the private /tmp, Galaxy read-only, and ends with a read-only root', () => {
    const steps = planRoot(spec({ sandbox: '/tmp/w/sandboxes/t', sandboxSource: '/tmp/w/sandboxes/t' }));
    expect(steps.find((s) => s.dst === '/tmp')).toMatchObject({ type: 'tmpfs', arg: 'mode=1777,size=67108864' });
    expect(at(steps, '/tmp/w/sandboxes/t')).toBeGreaterThan(at(steps, '/tmp'));
    expect(steps.find((s) => s.dst === '/tmp/w/sandboxes/t')).toEqual({
      type: 'bind',
      flags: ['nosuid', 'nodev', 'rec'],
      arg: '/tmp/w/sandboxes/t',
      dst: '/tmp/w/sandboxes/t',
    });
    expect(steps.find((s) => s.dst === '/opt/galaxy/dist')?.flags).toContain('ro');
    expect(steps.at(-1)).toEqual({ type: 'remount', flags: ['ro', 'nosuid', 'nodev'], arg: '', dst: '/' });
    // Nothing else of the host: every bind's source is a system dir, /etc, Galaxy or the sandbox.
    const sources = steps.filter((s) => s.type === 'bind').map((s) => s.arg);
    expect(sources.sort()).toEqual(['/usr', spec().layout.etc, ...spec().layout.galaxy, '/tmp/w/sandboxes/t'].sort());
  });

  it("mounts volumes after the sandbox, parents first, tmpfs owned by the container's root", () => {
    const steps = planRoot(
      spec({
        owner: { uid: 1_000_000, gid: 1_000_000 },
        mounts: [
          { kind: 'bind', target: `${SANDBOX}/data/in`, source: '/srv/in', readOnly: true },
          { kind: 'tmpfs', target: `${SANDBOX}/data`, readOnly: false, sizeBytes: 4096 },
          { kind: 'bind', target: '/srv/shared', source: '/srv/shared', readOnly: false },
        ],
      }),
    );
    for (const target of [`${SANDBOX}/data`, '/srv/shared', `${SANDBOX}/data/in`])
      expect(at(steps, target), target).toBeGreaterThan(at(steps, SANDBOX));
    expect(at(steps, `${SANDBOX}/data`)).toBeLessThan(at(steps, `${SANDBOX}/data/in`));
    expect(steps.find((s) => s.dst === `${SANDBOX}/data`)?.arg).toBe('mode=0755,size=4096,uid=1000000,gid=1000000');
    expect(steps.find((s) => s.dst === `${SANDBOX}/data/in`)?.flags).toEqual(['ro', 'nosuid', 'nodev', 'rec']);
    expect(steps.find((s) => s.dst === '/srv/shared')?.flags).toEqual(['nosuid', 'nodev', 'rec']);
  });

  it("gives the helper four arguments per step, '-' for an empty one", () => {
    expect(stepArgs([{ type: 'proc', flags: [], arg: '', dst: '/proc' }])).toEqual(['--op', 'proc', '-', '-', '/proc']);
  });
});
