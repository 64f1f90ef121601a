import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpecFiles } from './job-validate.js';

const GOOD = `name: web
replicas: 3
resources:
  cpu: { millicores: 500m }
  memory: { hard: 64Mi }
package:
  source: file:///srv/web-2.tar.gz
  version: "2.1"
  sha256: ${'e'.repeat(64)}
commands:
  start: ./web
`;

describe('validateSpecFiles', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'galaxy-job-validate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it('summarises a valid YAML and a valid JSON spec', async () => {
    const yaml = await file('web.yaml', GOOD);
    const json = await file('api.json', JSON.stringify({ ...goodAsObject(), name: 'api', replicas: 1 }));
    expect(await validateSpecFiles([yaml, json])).toEqual({
      ok: true,
      lines: [`ok ${yaml}: job web, 3 replicas, version 2.1`, `ok ${json}: job api, 1 replicas, version 2.1`],
    });
  });

  it('lists each problem of an invalid file with its path and line, and still checks the others', async () => {
    const bad = await file(
      'bad.yaml',
      GOOD.replace('replicas: 3', 'replicas: -1\nreplcias: 2').replace('  start: ./web\n', '  stop: ./stop\n'),
    );
    const good = await file('good.yaml', GOOD);
    const report = await validateSpecFiles([bad, good]);
    expect(report.ok).toBe(false);
    expect(report.lines).toEqual([
      `${bad}:2:1: replicas: Too small: expected number to be >=0`,
      `${bad}:3:1: replcias: unknown field "replcias" (did you mean "replicas"?)`,
      `${bad}:11:1: commands.start: is required (a string)`,
      `ok ${good}: job web, 3 replicas, version 2.1`,
    ]);
  });

  it('reports a missing file or a directory as a line, not a crash', async () => {
    const missing = join(dir, 'nope.yaml');
    const folder = join(dir, 'a-folder');
    await mkdir(folder);
    const report = await validateSpecFiles([missing, folder]);
    expect(report.ok).toBe(false);
    expect(report.lines).toHaveLength(2);
    expect(report.lines[0]).toMatch(new RegExp(`^${missing}: cannot read the file: .*ENOENT`));
    expect(report.lines[1]).toMatch(new RegExp(`^${folder}: cannot read the file: .*EISDIR`));
  });

  it('refuses an endless file without reading it to the end', async () => {
    const report = await validateSpecFiles(['/dev/zero']);
    expect(report.ok).toBe(false);
    expect(report.lines).toEqual(['/dev/zero:1:1: the spec is 1048577 bytes; the limit is 1048576 (1 MiB)']);
  });

  it('an empty list is trivially ok', async () => {
    expect(await validateSpecFiles([])).toEqual({ ok: true, lines: [] });
  });
});

/** GOOD as a plain object, for the JSON case. */
function goodAsObject(): Record<string, unknown> {
  return {
    resources: { cpu: { millicores: '500m' }, memory: { hard: '64Mi' } },
    package: { source: 'file:///srv/web-2.tar.gz', version: '2.1', sha256: 'e'.repeat(64) },
    commands: { start: './web' },
  };
}
