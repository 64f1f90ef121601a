/**
 * Whatever text arrives, parseJobSpec returns a valid spec or throws GALAXY_E_SPEC_INVALID, and
 * does so quickly: a spec comes from users and over the network.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../../core/errors.js';
import { parseJobSpec } from './parse.js';
import { NAME, type JobSpecInput } from './schema.js';

const VALID: JobSpecInput = {
  name: 'web',
  replicas: 2,
  ports: [{ name: 'http', port: 'dynamic' }],
  resources: { cpu: { millicores: '250m' }, memory: { hard: '64Mi', soft: '32Mi' }, tcp: { txBps: '10M' } },
  volumes: [{ kind: 'tmpfs', path: 'tmp', size: '16Mi' }],
  package: { source: 'https://example.org/web.tgz', version: '1', sha256: 'c'.repeat(64) },
  commands: { start: './web', reload: 'kill -HUP 1' },
  health: { type: 'tcp', port: 'http' },
  data: [{ name: 'pages', source: 'file:///srv/p.tgz', version: '1', sha256: 'd'.repeat(64), dest: 'pages' }],
  services: [{ name: 'web', port: 'http' }],
  env: { MODE: 'fast' },
};

/** Runs parseJobSpec and checks the only outcomes allowed; returns how long it took. */
function checkOutcome(text: string): number {
  const started = performance.now();
  try {
    const spec = parseJobSpec(text, 'fuzz.yaml');
    expect(spec.name).toMatch(NAME);
    expect(Number.isInteger(spec.resources.memory.hard)).toBe(true);
  } catch (error) {
    if (!isGalaxyError(error, 'GALAXY_E_SPEC_INVALID')) throw error;
    expect(error.detail).toMatch(/^fuzz\.yaml:\d+:\d+: /);
  }
  return performance.now() - started;
}

/** Fragments of YAML syntax, so that random text reaches anchors, tags, flow and block styles. */
const yamlish = fc
  .array(
    fc.constantFrom(
      'a:',
      'name: web',
      ' ',
      '  ',
      '\n',
      '- ',
      '[',
      ']',
      '{',
      '}',
      '&x ',
      '*x',
      '!!str ',
      '!x ',
      '"',
      "'",
      ',',
      '# c',
      '---',
      '? ',
      '|',
      '>',
      '1',
      '-1',
      '1e999',
      '~',
      ': ',
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

const jsonish = fc.jsonValue({ maxDepth: 4 });
const key = fc.constantFrom(
  'name',
  'replicas',
  'resources',
  'cpu',
  'memory',
  'hard',
  'ports',
  'port',
  'package',
  'commands',
  'start',
  'data',
  'dest',
  'volumes',
  'path',
  'kind',
  'deploy',
  '__proto__',
  'constructor',
);

/** Sets `path` in a deep copy of `value` to `leaf`, creating maps and lists along the way. */
function mutate(value: unknown, path: readonly (string | number)[], leaf: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return leaf;
  const copy = (
    Array.isArray(value) ? [...(value as unknown[])] : typeof value === 'object' && value !== null ? { ...value } : {}
  ) as Record<string | number, unknown>;
  Object.defineProperty(copy, head, {
    value: mutate(copy[head], rest, leaf),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

describe('parseJobSpec under fuzzing', () => {
  it('arbitrary strings never escape as anything but GALAXY_E_SPEC_INVALID', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), yamlish),
        (text) => {
          expect(checkOutcome(text)).toBeLessThan(1000);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('arbitrary JSON-ish documents, as JSON and as YAML, likewise', () => {
    fc.assert(
      fc.property(jsonish, fc.boolean(), (value, asYaml) => {
        const text = asYaml ? stringify(value) : JSON.stringify(value);
        expect(checkOutcome(text)).toBeLessThan(1000);
      }),
      { numRuns: 300 },
    );
  });

  it('random mutations of a valid spec are either valid or refused with a located error', () => {
    const path = fc.array(fc.oneof(key, fc.nat({ max: 3 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(path, jsonish, fc.boolean(), (where, leaf, asYaml) => {
        const spec = mutate(VALID, where, leaf);
        const text = asYaml ? stringify(spec) : JSON.stringify(spec, null, 2);
        expect(checkOutcome(text)).toBeLessThan(1000);
      }),
      { numRuns: 400 },
    );
  });

  it('the valid spec itself parses, in both syntaxes', () => {
    expect(parseJobSpec(stringify(VALID))).toEqual(parseJobSpec(JSON.stringify(VALID)));
  });
});
