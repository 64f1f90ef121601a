import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../../core/errors.js';
import { MAX_KEPT_ISSUES, MAX_LISTED_ISSUES } from '../../../core/spec/issues.js';
import { MAX_SPEC_BYTES, MAX_SPEC_NODES, parseJobSpec, parseJobSpecJson, SpecError, type SpecIssue } from './parse.js';
import { MAX_ENV, MAX_LABELS } from './schema.js';

const SHA = 'a'.repeat(64);

/** A valid spec; line numbers below refer to this text. */
const WEB = `name: web
replicas: 3
ports:
  - name: http
    port: dynamic
resources:
  cpu: { millicores: 500m }
  memory:
    hard: 256Mi
    soft: 128Mi
package:
  source: https://example.org/web-1.0.tar.gz
  version: "1.0"
  sha256: ${SHA}
commands:
  start: ./web --port $GALAXY_PORT_HTTP
health:
  type: http
  port: http
services:
  - name: web
    port: http
`;

/** Parses `text`, expecting a SpecError, and returns its issues. */
function issuesOf(text: string, source?: string): readonly SpecIssue[] {
  try {
    parseJobSpec(text, source);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    expect(isGalaxyError(error, 'GALAXY_E_SPEC_INVALID')).toBe(true);
    return (error as SpecError).issues;
  }
  throw new Error('expected the spec to be refused');
}

/** WEB with `from` replaced by `to` (which must occur once). */
function edit(from: string, to: string): string {
  expect(WEB.split(from)).toHaveLength(2);
  return WEB.replace(from, to);
}

describe('parseJobSpec: valid specs', () => {
  it('reads YAML, fills defaults and converts quantities', () => {
    const spec = parseJobSpec(WEB, 'web.yaml');
    expect(spec.name).toBe('web');
    expect(spec.replicas).toBe(3);
    expect(spec.resources.cpu).toEqual({ millicores: 500, excess: false });
    expect(spec.resources.memory).toEqual({ hard: 256 * 1024 ** 2, soft: 128 * 1024 ** 2 });
    expect(spec.band).toBe('service');
    expect(spec.pool).toBe('default');
    expect(spec.health?.path).toBe('/health');
    expect(spec.deploy.step).toBe(1);
    expect(spec.failure.blacklistAfter).toBe(3);
  });

  it('reads the same spec written as JSON, compact or indented with tabs', () => {
    const fromYaml = parseJobSpec(WEB);
    const input = JSON.parse(
      JSON.stringify({
        ...fromYaml,
        resources: { cpu: { millicores: '500m' }, memory: { hard: '256Mi', soft: '128Mi' } },
      }),
    ) as unknown;
    expect(parseJobSpec(JSON.stringify(input), 'web.json')).toEqual(fromYaml);
    expect(parseJobSpec(JSON.stringify(input, null, '\t'), 'web.json')).toEqual(fromYaml);
  });
});

describe('parseJobSpec: errors name the path and the line', () => {
  it('formats each issue as source:line:col: path: message', () => {
    expect(() => parseJobSpec(edit('hard: 256Mi', 'hard: lots'), 'web.yaml')).toThrow(
      'GALAXY_E_SPEC_INVALID: web.yaml:9:5: resources.memory.hard: cannot read "lots" as a size (try 256Mi or 1Gi)',
    );
  });

  it('refuses a size written as a bare number in a string as ambiguous (a YAML number is bytes)', () => {
    expect(() => parseJobSpec(edit('hard: 256Mi', 'hard: "256"'), 'web.yaml')).toThrow(
      'web.yaml:9:5: resources.memory.hard: "256" has no unit, so it is ambiguous: write 256Mi for MiB',
    );
    expect(parseJobSpec(edit('hard: 256Mi', 'hard: 268435456')).resources.memory.hard).toBe(256 * 1024 ** 2);
  });

  it('refuses negative resources', () => {
    expect(issuesOf(edit('hard: 256Mi', 'hard: -1'))).toEqual([
      { path: 'resources.memory.hard', line: 9, column: 5, message: expect.stringContaining('>=0') as string },
    ]);
    const [cpu] = issuesOf(edit('millicores: 500m', 'millicores: -500'));
    expect(cpu).toMatchObject({ path: 'resources.cpu.millicores', line: 7, column: 10 });
  });

  it('names an unknown field and points at it', () => {
    expect(issuesOf(edit('replicas: 3', 'replicas: 3\nreplica: 4'))).toEqual([
      { path: 'replica', line: 3, column: 1, message: 'unknown field "replica" (did you mean "replicas"?)' },
    ]);
    expect(issuesOf(edit('    soft: 128Mi', '    soft: 128Mi\n    swap: 1Gi'))).toEqual([
      { path: 'resources.memory.swap', line: 11, column: 5, message: 'unknown field "swap"' },
    ]);
  });

  it('suggests the field a typo was meant to be, also inside lists and unions', () => {
    expect(issuesOf(edit('  - name: http', '  - nmae: x\n    name: http'))[0]?.message).toBe(
      'unknown field "nmae" (did you mean "name"?)',
    );
    const volume = `${WEB}volumes:\n  - kind: bind\n    path: srv\n    hostPath: /srv\n    readonly: true\n`;
    expect(issuesOf(volume)).toEqual([
      {
        path: 'volumes[0].readonly',
        line: 27,
        column: 5,
        message: 'unknown field "readonly" (did you mean "readOnly"?)',
      },
    ]);
    expect(issuesOf(edit('replicas: 3', 'replicas: 3\nflavour: big'))[0]?.message).toBe('unknown field "flavour"');
  });

  it('refuses the same fixed port twice and the same port name twice', () => {
    const twice = edit('    port: dynamic', '    port: 8080\n  - name: admin\n    port: 8080');
    expect(issuesOf(twice)).toEqual([
      { path: 'ports[1].port', line: 7, column: 5, message: 'port 8080 is asked for twice' },
    ]);
    const named = edit('    port: dynamic', '    port: dynamic\n  - name: http');
    expect(issuesOf(named)).toEqual([
      { path: 'ports[1].name', line: 6, column: 5, message: 'port "http" is named twice' },
    ]);
  });

  it('points a missing command at its parent map', () => {
    const text = edit('  start: ./web --port $GALAXY_PORT_HTTP', '  stop: ./web --stop');
    expect(issuesOf(text)).toEqual([
      { path: 'commands.start', line: 15, column: 1, message: 'is required (a string)' },
    ]);
  });

  it('refuses data and volume paths that escape the sandbox', () => {
    const data = `${edit('  start:', '  reload: kill -HUP 1\n  start:')}data:
  - name: pages
    source: file:///srv/pages.tar.gz
    version: "7"
    sha256: ${SHA}
    dest: ../x
volumes:
  - kind: tmpfs
    path: ../up
    size: 16Mi
  - kind: tmpfs
    path: /proc/sys
    size: 16Mi
`;
    expect(issuesOf(data)).toEqual([
      { path: 'data[0].dest', line: 29, column: 5, message: 'must stay inside the sandbox (relative, no "..")' },
      {
        path: 'volumes[0].path',
        line: 32,
        column: 5,
        message: 'path "../up" must be relative to the sandbox (no empty, . or .. segments) or absolute',
      },
      { path: 'volumes[1].path', line: 35, column: 5, message: 'path "/proc/sys" is under the container\'s /proc' },
    ]);
  });

  it('refuses a bad sha256 and a bad URL scheme', () => {
    const text = edit(
      `  source: https://example.org/web-1.0.tar.gz\n  version: "1.0"\n  sha256: ${SHA}`,
      '  source: ftp://example.org/web.tgz\n  version: "1.0"\n  sha256: ABC',
    );
    expect(issuesOf(text)).toEqual([
      { path: 'package.source', line: 12, column: 3, message: 'must be a file:///, http:// or https:// URL' },
      { path: 'package.sha256', line: 14, column: 3, message: 'must be 64 lower-case hex digits' },
    ]);
  });

  it('refuses sizes it cannot read, including ones too large to count', () => {
    expect(issuesOf(edit('soft: 128Mi', 'soft: 12 parsecs'))[0]).toMatchObject({
      path: 'resources.memory.soft',
      line: 10,
    });
    expect(issuesOf(edit('soft: 128Mi', `soft: ${'9'.repeat(30)}Ti`))[0]?.message).toMatch(/cannot read .* as a size/);
    expect(issuesOf(edit('soft: 128Mi', 'soft: true'))[0]?.message).toBe('expected a number or a string, got true');
  });

  it('reports several issues at once, in source order', () => {
    const text = edit('name: web\nreplicas: 3', 'name: Web\nreplicas: -3\ncolour: blue').replace(
      'hard: 256Mi',
      'hard: lots',
    );
    const issues = issuesOf(text, 'web.yaml');
    expect(issues.map((i) => `${i.line}:${i.path}`)).toEqual([
      '1:name',
      '2:replicas',
      '3:colour',
      '10:resources.memory.hard',
    ]);
    expect(() => parseJobSpec(text, 'web.yaml')).toThrow(
      /^GALAXY_E_SPEC_INVALID: web\.yaml:1:1: name: .*\n.*\n.*\nweb\.yaml:10:5: resources\.memory\.hard: [^\n]*$/,
    );
  });

  it('points JSON errors at the line of the key', () => {
    const json = JSON.stringify({ ...parseJobSpec(WEB), replicas: 'three' }, null, 2);
    const line = json.split('\n').findIndex((l) => l.includes('"replicas"')) + 1;
    expect(issuesOf(json, 'web.json')).toEqual([
      { path: 'replicas', line, column: 3, message: 'expected a number, got a string' },
    ]);
  });
});

describe('parseJobSpec: hostile or broken text', () => {
  it('refuses a duplicate key', () => {
    const [issue] = issuesOf(edit('replicas: 3', 'replicas: 3\nreplicas: 4'));
    expect(issue).toMatchObject({ path: '', line: 3, column: 1 });
    expect(issue?.message).toMatch(/unique/i);
    expect(issuesOf('{"name": "a", "name": "b"}')[0]?.message).toMatch(/unique/i);
  });

  it('refuses several documents in one file', () => {
    expect(issuesOf(`${WEB}---\n${WEB}`)[0]?.message).toMatch(/multiple documents/);
  });

  it('refuses an alias bomb quickly', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`,
      );
    }
    const started = Date.now();
    expect(issuesOf(levels.join('\n'))[0]?.message).toMatch(/alias/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a spec over the size limit before parsing it', () => {
    const [issue] = issuesOf(`${WEB}# ${'x'.repeat(MAX_SPEC_BYTES)}\n`);
    expect(issue?.message).toMatch(/limit is 1048576/);
  });

  it('keeps at most MAX_KEPT_ISSUES issues and counts the rest in the message', () => {
    const text = Array.from({ length: MAX_KEPT_ISSUES + 500 }, (_, i) => `k${i}: 1`).join('\n');
    try {
      parseJobSpec(text, 'junk.yaml');
      expect.unreachable();
    } catch (error) {
      expect((error as SpecError).issues).toHaveLength(MAX_KEPT_ISSUES);
      const more = Number(/… and (\d+) more issues$/.exec((error as SpecError).detail)?.[1]);
      // Every unknown key and the missing required fields, listed or counted.
      expect(MAX_LISTED_ISSUES + more).toBeGreaterThan(MAX_KEPT_ISSUES + 500);
    }
  });

  it('lists at most MAX_LISTED_ISSUES in the message but keeps them all', () => {
    const text = Array.from({ length: 150 }, (_, i) => `k${i}: 1`).join('\n');
    try {
      parseJobSpec(text, 'junk.yaml');
      expect.unreachable();
    } catch (error) {
      expect((error as SpecError).issues.length).toBeGreaterThan(150);
      const lines = (error as SpecError).detail.split('\n');
      expect(lines).toHaveLength(MAX_LISTED_ISSUES + 1);
      expect(lines.at(-1)).toMatch(/^junk\.yaml: … and \d+ more issues$/);
    }
  });

  it('reports syntax errors with their line', () => {
    expect(issuesOf('name: web\nreplicas: [1, 2\n')[0]).toMatchObject({ path: '', line: 3 });
  });

  it('refuses an empty document and a scalar', () => {
    expect(issuesOf('')[0]).toMatchObject({ path: '', line: 1, column: 1 });
    expect(issuesOf('just text')[0]?.message).toBe('expected a map, got a string');
  });

  it('survives nesting deep enough to exhaust a recursive parser', () => {
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    expect(issuesOf(deep)[0]).toMatchObject({ path: '', line: 1 });
  });
});

/** A YAML map of `n` keys, one per line (about 1 MiB for 150,000 keys). */
function manyKeysYaml(n: number): string {
  let text = '';
  for (let i = 0; i < n; i += 1) text += `${i.toString(36)}:\n`;
  return text;
}

/** Valid JSON of about 150,000 keys in under 1 MiB: maps of one-character keys inside a map. */
function manyKeysJson(): string {
  const chars = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter(
    (c) => c !== '"' && c !== '\\',
  );
  const inner = `{${chars.map((c) => `"${c}":0`).join(',')}}`;
  const outer: string[] = [];
  for (const a of chars)
    for (const b of chars) if (outer.length < 1620) outer.push(`${JSON.stringify(a + b)}:${inner}`);
  return `{${outer.join(',')}}`;
}

describe('a spec of 150,000 keys', () => {
  it('is refused by both parsers in well under a second, saying why', () => {
    const yaml = manyKeysYaml(150_000);
    const json = manyKeysJson();
    expect(Buffer.byteLength(yaml)).toBeLessThanOrEqual(MAX_SPEC_BYTES);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_SPEC_BYTES);
    for (const [parse, text] of [
      [parseJobSpec, yaml],
      [parseJobSpecJson, json],
      [parseJobSpecJson, yaml],
    ] as const) {
      const started = performance.now();
      expect(() => parse(text, 'flood')).toThrow(
        /GALAXY_E_SPEC_INVALID: flood:1:1: the spec (has more than|is not JSON)/,
      );
      expect(performance.now() - started).toBeLessThan(250);
    }
  });

  it('refuses more fields and items than a spec can hold before validating them', () => {
    const spec = {
      name: 'web',
      env: Object.fromEntries(Array.from({ length: MAX_SPEC_NODES }, (_, i) => [`V${i}`, ''])),
    };
    expect(() => parseJobSpecJson(JSON.stringify(spec))).toThrow(/more than 5000 fields and list items/);
  });
});

describe('parseJobSpecJson', () => {
  const web = JSON.stringify(parseJobSpec(WEB));

  it('reads the JSON the CLI sends, as parseJobSpec reads the file', () => {
    expect(parseJobSpecJson(web)).toEqual(parseJobSpec(WEB));
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseJobSpecJson(WEB, 'spec')).toThrow(/GALAXY_E_SPEC_INVALID: spec:1:1: the spec is not JSON/);
  });

  it('locates the problems of a small spec, and names the path of a large one', () => {
    const bad = JSON.stringify({ ...JSON.parse(web), replicas: 'three' }, null, 2);
    expect(() => parseJobSpecJson(bad, 'spec')).toThrow(/spec:\d+:3: replicas: expected a number, got a string/);
    const padded = JSON.stringify({ ...JSON.parse(web), replicas: 'three', env: { PAD: 'x'.repeat(70_000) } });
    expect(() => parseJobSpecJson(padded, 'spec')).toThrow(
      /GALAXY_E_SPEC_INVALID: spec: replicas: expected a number, got a string/,
    );
  });

  it('bounds labels and environment variables', () => {
    const labels = Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`l${i}`, 'x']));
    const env = Object.fromEntries(Array.from({ length: MAX_ENV + 1 }, (_, i) => [`E${i}`, 'x']));
    expect(() => parseJobSpecJson(JSON.stringify({ ...JSON.parse(web), labels }))).toThrow(
      /labels: has 65 labels; at most 64 are allowed/,
    );
    expect(() => parseJobSpecJson(JSON.stringify({ ...JSON.parse(web), env }))).toThrow(
      /env: has 257 variables; at most 256 are allowed/,
    );
  });
});
