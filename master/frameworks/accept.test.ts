import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../core/errors.js';
import { parseResources } from '../../core/resources.js';
import { Volume, Volume_Kind, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { Accept } from '../../proto/gen/galaxy/v1/scheduler.js';
import { planAccept } from './accept.js';

const offers: Record<string, Offer> = {
  o1: {
    id: 'o1',
    frameworkId: 'fw',
    agentId: 'a1',
    hostname: 'h',
    resources: parseResources('cpus:2;mem:1GiB;ports:[31000-31009]'),
    attributes: [],
    pool: 'default',
    allowedHostPaths: [
      { path: '/srv', writable: false },
      { path: '/srv/scratch', writable: true },
    ],
    heldVolumes: [],
  },
  o2: {
    id: 'o2',
    frameworkId: 'fw',
    agentId: 'a1',
    hostname: 'h',
    resources: parseResources('cpus:1;mem:1GiB'),
    attributes: [],
    pool: 'default',
    allowedHostPaths: [],
    heldVolumes: [],
  },
  o3: {
    id: 'o3',
    frameworkId: 'fw',
    agentId: 'a2',
    hostname: 'h2',
    resources: parseResources('cpus:1;mem:1GiB'),
    attributes: [],
    pool: 'default',
    allowedHostPaths: [],
    heldVolumes: [],
  },
  other: {
    id: 'other',
    frameworkId: 'fw2',
    agentId: 'a1',
    hostname: 'h',
    resources: parseResources('cpus:1'),
    attributes: [],
    pool: 'default',
    allowedHostPaths: [],
    heldVolumes: [],
  },
};

function task(id: string, spec: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: parseResources(spec),
    command: { shell: 'true', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 0,
    volumes: [],
  };
}
function accept(offerIds: string[], tasks: TaskInfo[]): Accept {
  return { offerIds, operations: [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }] };
}
function plan(a: Accept, live: string[] = []) {
  return planAccept(
    'fw',
    a,
    (id) => offers[id],
    (id) => live.includes(id),
  );
}
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isGalaxyError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe('planAccept', () => {
  it('sums several offers on one agent and returns what is left', () => {
    const p = plan(
      accept(['o1', 'o2'], [task('t1', 'cpus:2.5;mem:512MiB;ports:[31000]'), task('t2', 'cpus:0.5;mem:512MiB')]),
    );
    expect(p.agentId).toBe('a1');
    expect(p.tasks.map((t) => t.agentId)).toEqual(['a1', 'a1']);
    expect(p.unused).toEqual(parseResources('cpus:0;mem:1GiB;ports:[31001-31009]'));
  });

  it('refuses what a framework must not do, each with its own code', () => {
    expect(codeOf(() => plan(accept([], [])))).toBe('GALAXY_E_INVALID_ARGUMENT');
    expect(codeOf(() => plan(accept(['o1', 'o1'], [])))).toBe('GALAXY_E_INVALID_ARGUMENT');
    expect(codeOf(() => plan(accept(['gone'], [])))).toBe('GALAXY_E_OFFER_UNKNOWN');
    expect(codeOf(() => plan(accept(['other'], [])))).toBe('GALAXY_E_OFFER_MISMATCH');
    expect(codeOf(() => plan(accept(['o1', 'o3'], [])))).toBe('GALAXY_E_OFFER_MISMATCH');
    expect(codeOf(() => plan(accept(['o1'], [task('big', 'cpus:3')])))).toBe('GALAXY_E_OVERCOMMIT');
    expect(
      codeOf(() => plan(accept(['o1'], [task('a', 'cpus:1;ports:[31000]'), task('b', 'cpus:0.5;ports:[31000]')]))),
    ).toBe('GALAXY_E_OVERCOMMIT');
    expect(codeOf(() => plan(accept(['o1'], [task('t', 'cpus:0.1')]), ['t']))).toBe('GALAXY_E_TASK_DUPLICATE');
    expect(codeOf(() => plan(accept(['o1'], [{ ...task('t', 'cpus:0.1'), agentId: 'a9' }])))).toBe(
      'GALAXY_E_TASK_INVALID',
    );
    expect(codeOf(() => plan(accept(['o1'], [task('t', 'disk:1GiB')])))).toBe('GALAXY_E_TASK_INVALID');
    expect(codeOf(() => plan(accept(['o1'], [{ ...task('t', 'cpus:1'), killGraceS: Number.NaN }])))).toBe(
      'GALAXY_E_TASK_INVALID',
    );
    expect(codeOf(() => plan({ offerIds: ['o1'], operations: [{ operation: undefined }] }))).toBe(
      'GALAXY_E_INVALID_ARGUMENT',
    );
  });

  it('accepts tmpfs and bind volumes inside the sandbox, and refuses those that escape it', () => {
    const withVolume = (v: Partial<Volume>) => ({
      ...task('v', 'cpus:0.1;mem:64MiB'),
      volumes: [Volume.fromPartial({ kind: Volume_Kind.TMPFS, path: 'scratch', sizeBytes: 1024, ...v })],
    });
    expect(plan(accept(['o1'], [withVolume({})])).tasks).toHaveLength(1);
    const bind = { kind: Volume_Kind.BIND, path: 'data/in', readOnly: true };
    expect(plan(accept(['o1'], [withVolume({ ...bind, hostPath: '/srv/data' })])).tasks).toHaveLength(1);
    // An absolute path is that place in the container's root; a writable bind needs an :rw entry.
    expect(plan(accept(['o1'], [withVolume({ ...bind, path: '/data', hostPath: '/srv/data' })])).tasks).toHaveLength(1);
    expect(
      plan(accept(['o1'], [withVolume({ ...bind, readOnly: false, hostPath: '/srv/scratch/x' })])).tasks,
    ).toHaveLength(1);
    const bad: Partial<Volume>[] = [
      { path: '../escape' },
      { path: '/proc/x' },
      { path: '/' },
      { path: 'a/./b' },
      { path: 'stdout' },
      { sizeBytes: 0 },
      { kind: Volume_Kind.KIND_UNSPECIFIED },
    ];
    for (const v of bad)
      expect(
        codeOf(() => plan(accept(['o1'], [withVolume(v)]))),
        JSON.stringify(v),
      ).toBe('GALAXY_E_TASK_INVALID');
  });

  it("refuses bind volumes outside the agent's allowed host paths, or writable where it allows reading", () => {
    const bindOf = (hostPath: string, readOnly = true) => ({
      ...task('v', 'cpus:0.1;mem:64MiB'),
      volumes: [Volume.fromPartial({ kind: Volume_Kind.BIND, path: 'in', hostPath, readOnly })],
    });
    const denied = [
      'relative',
      '/',
      '/etc',
      '/etc/shadow',
      '/proc/1',
      '/dev/sda',
      '/sys',
      '/srv/../etc',
      '/srvx',
      '/home/u',
    ];
    for (const hostPath of denied)
      expect(
        codeOf(() => plan(accept(['o1'], [bindOf(hostPath)]))),
        hostPath,
      ).toBe('GALAXY_E_HOST_PATH_DENIED');
    expect(codeOf(() => plan(accept(['o1'], [bindOf('/srv/data', false)])))).toBe('GALAXY_E_HOST_PATH_DENIED');
    // An agent that allows nothing takes no bind volume at all.
    expect(codeOf(() => plan(accept(['o2'], [bindOf('/srv/data')])))).toBe('GALAXY_E_HOST_PATH_DENIED');
  });

  it('refuses capabilities that are not Linux capabilities', () => {
    const withCaps = (capabilities: string[]) => ({ ...task('c', 'cpus:0.1;mem:64MiB'), container: { capabilities } });
    expect(plan(accept(['o1'], [withCaps(['NET_ADMIN', 'cap_sys_time'])])).tasks).toHaveLength(1);
    expect(codeOf(() => plan(accept(['o1'], [withCaps(['GOD_MODE'])])))).toBe('GALAXY_E_TASK_INVALID');
  });
});
