/**
 * The npm package ships what a machine needs to run Galaxy — the built code, the example service
 * `galaxy up` deploys, the protos, schemas, systemd units and docs — and nothing else (no sources,
 * no tests, no source maps). `npm pack` builds it first (`prepack`).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the npm package', () => {
  it('ships the built CLI and what it reads at run time, and no sources, tests or maps', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    });
    const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
    const files = (pack?.files ?? []).map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/cli/main.js',
        'dist/frameworks/appmaster/appworker/bin.js',
        'examples/hello-service/job.yaml',
        'proto/galaxy/v1/scheduler.proto',
        'schemas/job.schema.json',
        'schemas/batch.schema.json',
        'deploy/systemd/galaxy-agent.service',
        'README.md',
        'package.json',
      ]),
    );
    const unwanted = files.filter(
      (f) => /\.test\.|\.map$/.test(f) || (f.endsWith('.ts') && !f.startsWith('examples/')) || f.startsWith('test/'),
    );
    expect(unwanted).toEqual([]);
  });
});
