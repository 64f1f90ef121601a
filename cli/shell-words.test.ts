import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { execCommandLine, shellQuote } from './shell-words.js';

/** What /bin/sh hands the program: its argv, one per line. */
const argvThroughShell = (line: string): string[] =>
  execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${line.replace(/^printf /, '')}`], { encoding: 'utf8' })
    .split('\n')
    .slice(0, -1);

describe('job exec quoting', () => {
  it('passes one argument as a shell command line', () => {
    expect(execCommandLine(['ls -l | wc -l'])).toBe('ls -l | wc -l');
  });

  it('keeps every argument of several exactly as given through /bin/sh', () => {
    const args = ['a b', "it's", '$HOME', '`id`', '"q"', '', 'x;y', '*'];
    const line = execCommandLine(['printf', ...args]);
    expect(argvThroughShell(line)).toEqual(args);
  });

  it('leaves plain words unquoted', () => {
    expect(shellQuote('--flag=a,b/c.d')).toBe('--flag=a,b/c.d');
    expect(shellQuote('')).toBe("''");
  });
});
