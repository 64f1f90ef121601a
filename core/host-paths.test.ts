import { describe, expect, it } from 'vitest';
import { isGalaxyError } from './errors.js';
import { bindDenial, neverAllowed, notNormal, parseAllowedHostPaths, volumePathDenial } from './host-paths.js';

describe('host paths', () => {
  it('never allows /, /etc, /proc, /sys, /dev, nor the work dir, anything in it or holding it', () => {
    for (const path of ['/', '/etc', '/etc/shadow', '/proc', '/proc/1/root', '/sys/fs', '/dev', '/dev/sda'])
      expect(neverAllowed(path), path).toBeDefined();
    const workDir = '/var/lib/galaxy/agent';
    for (const path of [workDir, `${workDir}/meta`, '/var/lib/galaxy', '/var/lib', '/var'])
      expect(neverAllowed(path, workDir), path).toMatch(/work directory/);
    for (const path of ['/srv', '/data/x', '/etcetera', '/var/lib/other', '/devices'])
      expect(neverAllowed(path, workDir), path).toBeUndefined();
  });

  it('wants absolute, normal paths without . or ..', () => {
    for (const path of ['relative', '/a/../etc', '/a/./b', '/a//b', '/a/', 'a\0b'])
      expect(notNormal(path), path).toBeDefined();
    expect(notNormal('/srv/data')).toBeUndefined();
  });

  it('parses --allowed-host-paths, read-only unless :rw, refusing forbidden entries by name', () => {
    expect(parseAllowedHostPaths('/data, /srv/cache:rw,/opt:ro')).toEqual([
      { path: '/data', writable: false },
      { path: '/srv/cache', writable: true },
      { path: '/opt', writable: false },
    ]);
    expect(parseAllowedHostPaths('')).toEqual([]);
    for (const spec of ['/', '/etc:rw', '/data,/proc', 'data', '/data/../etc', '/var/lib/galaxy'])
      try {
        parseAllowedHostPaths(spec, '/var/lib/galaxy/agent');
        expect.unreachable(spec);
      } catch (error) {
        expect(isGalaxyError(error, 'GALAXY_E_INVALID_ARGUMENT'), spec).toBe(true);
        expect(String(error)).toContain('--allowed-host-paths');
      }
  });

  it('allows a bind only under an allowed path, and writable only under an :rw one', () => {
    const allowed = [
      { path: '/data', writable: false },
      { path: '/data/scratch', writable: true },
    ];
    expect(bindDenial('/data', true, allowed)).toBeUndefined();
    expect(bindDenial('/data/in/x', true, allowed)).toBeUndefined();
    expect(bindDenial('/data/scratch/x', false, allowed)).toBeUndefined();
    expect(bindDenial('/data/in', false, allowed)).toMatch(/read-only/);
    expect(bindDenial('/database', true, allowed)).toMatch(/not under/);
    expect(bindDenial('/srv', true, [])).toMatch(/\(none\)/);
    // Never, whatever the list says (an agent's advertised list is not trusted for these).
    expect(bindDenial('/etc/passwd', true, [{ path: '/etc', writable: true }])).toMatch(/never bound/);
    expect(bindDenial('/', true, [{ path: '/', writable: true }])).toMatch(/root/);
    expect(bindDenial('/data/../etc', true, allowed)).toMatch(/\.\./);
  });

  it('puts volumes inside the sandbox, or at an absolute place in the root other than /, /proc, /dev, /sys', () => {
    for (const path of ['data', 'data/cache', '/srv/in', '/tmp/x'])
      expect(volumePathDenial(path), path).toBeUndefined();
    for (const path of ['', '../x', 'a/../b', 'a//b', './a', '/', '/proc/sys', '/dev/x', '/sys', '/a/../proc'])
      expect(volumePathDenial(path), path).toBeDefined();
  });
});
