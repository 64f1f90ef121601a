/**
 * `galaxy --help` lists every GALAXY_* variable the CLI and its daemons read: each variable read in
 * the source (process.env.GALAXY_X, an option's .env('GALAXY_X'), a target's 'GALAXY_X') must be
 * in the list, so a new one cannot be added without it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT, environmentHelp } from './environment-help.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('galaxy --help', () => {
  it('lists every GALAXY_* variable the CLI reads', () => {
    const read = new Set<string>();
    for (const file of [...sources('cli'), ...sources('core'), ...sources('sim')]) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:process\.env\.|\.env\(['"]|frameworkTarget\([^)]*['"])(GALAXY_[A-Z_]+)/g))
        read.add(match[1] ?? '');
    }
    const listed = new Set(ENVIRONMENT.map(([name]) => name));
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((name) => !listed.has(name))).toEqual([]);
    expect(environmentHelp()).toContain('Exit codes:');
  });
});
