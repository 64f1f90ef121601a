import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../../core/errors.js';
import { classifyChange, fieldDiff } from './diff.js';
import { JobSpecSchema, type JobSpec, type JobSpecInput } from './schema.js';

const BASE: JobSpecInput = {
  name: 'web',
  replicas: 3,
  ports: [{ name: 'http' }],
  resources: { cpu: { millicores: 500 }, memory: { hard: '256Mi' } },
  package: { source: 'file:///srv/web-1.tar.gz', version: '1', sha256: 'a'.repeat(64) },
  commands: { start: './web', reload: 'kill -HUP 1' },
};

/** The base spec with `change` applied, validated. */
function spec(change: Partial<JobSpecInput> = {}): JobSpec {
  return JobSpecSchema.parse({ ...BASE, ...change });
}

describe('classifyChange', () => {
  it('none: nothing changed', () => {
    expect(classifyChange(spec(), spec())).toEqual({ kind: 'none', fields: [] });
  });

  it('none: only the deploy or failure policy changed, and says which', () => {
    expect(classifyChange(spec(), spec({ deploy: { step: 2 }, failure: { backoffS: 3 } }))).toEqual({
      kind: 'none',
      fields: ['deploy', 'failure'],
    });
  });

  it('scale: only replicas changed', () => {
    expect(classifyChange(spec(), spec({ replicas: 5 }))).toEqual({ kind: 'scale', fields: ['replicas'] });
  });

  it('reload: only data packages changed', () => {
    const data = [{ name: 'pages', source: 'file:///srv/p.tgz', version: '2', sha256: 'b'.repeat(64), dest: 'pages' }];
    expect(classifyChange(spec(), spec({ data }))).toEqual({ kind: 'reload', fields: ['data'] });
  });

  it('rebuild: a new version, in place, even with a scale and a data change alongside', () => {
    const pkg = { ...BASE.package, version: '2', source: 'file:///srv/web-2.tar.gz' };
    const data = [{ name: 'pages', source: 'file:///srv/p.tgz', version: '2', sha256: 'b'.repeat(64), dest: 'pages' }];
    expect(classifyChange(spec(), spec({ package: pkg, replicas: 4, data }))).toEqual({
      kind: 'rebuild',
      fields: ['replicas', 'package', 'data'],
    });
    expect(classifyChange(spec(), spec({ env: { MODE: 'fast' } })).kind).toBe('rebuild');
    expect(classifyChange(spec(), spec({ commands: { start: './web --v2', reload: 'kill -HUP 1' } })).kind).toBe(
      'rebuild',
    );
  });

  it('replace: resources need a new container, whatever else changed', () => {
    const pkg = { ...BASE.package, version: '2' };
    expect(
      classifyChange(
        spec(),
        spec({ resources: { cpu: { millicores: 1000 }, memory: { hard: '256Mi' } }, package: pkg }),
      ),
    ).toEqual({
      kind: 'replace',
      fields: ['resources', 'package'],
    });
    expect(classifyChange(spec(), spec({ ports: [{ name: 'http', port: 8080 }] })).kind).toBe('replace');
    expect(classifyChange(spec(), spec({ labels: { rack: 'r1' } })).kind).toBe('replace');
  });

  it('equal quantities written differently are no change', () => {
    const same = spec({ resources: { cpu: { millicores: '0.5' }, memory: { hard: 256 * 1024 * 1024 } } });
    expect(classifyChange(spec(), same)).toEqual({ kind: 'none', fields: [] });
  });

  it('refuses a rename', () => {
    let caught: unknown;
    try {
      classifyChange(spec(), spec({ name: 'web2' }));
    } catch (error) {
      caught = error;
    }
    expect(isGalaxyError(caught, 'GALAXY_E_SPEC_INVALID')).toBe(true);
    expect(String(caught)).toMatch(/cannot be renamed/);
  });
});

describe('fieldDiff', () => {
  it('names every changed leaf by its dotted path, with both values', () => {
    const before = { a: 1, b: { c: 'x', d: [1, 2] }, e: true };
    const after = { a: 1, b: { c: 'y', d: [1, 3] }, f: 2 };
    expect(fieldDiff(before, after)).toEqual([
      { path: 'b.c', before: 'x', after: 'y' },
      { path: 'b.d.1', before: 2, after: 3 },
      { path: 'e', before: true, after: undefined },
      { path: 'f', before: undefined, after: 2 },
    ]);
    expect(fieldDiff(before, structuredClone(before))).toEqual([]);
  });
});
