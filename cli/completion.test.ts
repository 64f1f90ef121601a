/**
 * `galaxy completion`: the scripts a shell sources are valid, and the completions they ask the CLI
 * for name its real commands and flags (the built CLI, as a user's shell runs it).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GALAXY_BIN } from '../test/helpers/processes.js';

const run = (...args: string[]): string =>
  execFileSync(process.execPath, [GALAXY_BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

/** The candidates a completion request returns (the last line is the shell directive, `:N`). */
const candidates = (...words: string[]): string[] =>
  run('complete', '--', ...words)
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith(':'))
    .map((line) => line.split('\t')[0] ?? '');

describe('galaxy completion', () => {
  it('prints bash and zsh scripts that the shells parse', () => {
    for (const shell of ['bash', 'zsh']) {
      const script = run('completion', shell);
      expect(script).toContain('galaxy');
      if (shell === 'bash') execFileSync('bash', ['-n'], { input: script }); // throws on a syntax error
    }
  });

  it('completes subcommands and flags from the command tree', () => {
    expect(candidates('job', 's')).toEqual(expect.arrayContaining(['submit', 'scale', 'show', 'stop']));
    expect(candidates('job', 's')).not.toContain('remove');
    expect(candidates('job', 'submit', '--')).toEqual(expect.arrayContaining(['--wait', '--appmaster']));
    expect(candidates('')).toEqual(expect.arrayContaining(['agents', 'job', 'batch', 'completion']));
  });

  it('refuses an unknown shell with a clear error', () => {
    expect(() => run('completion', 'tcsh')).toThrow(/tcsh|choices|invalid/i);
  });
});
