/**
 * `galaxy job exec` runs its command through `/bin/sh -c` in the pod. One argument is a shell
 * command line as written (`'ls -l | wc -l'`); several are a program and its arguments, each quoted
 * so that it reaches the program unchanged (`-- printf '%s\n' 'a b' '$HOME'`), spaces, quotes and
 * `$` included, as `ssh` users wish it did.
 */

/** `word` quoted for a POSIX shell: as is when it is plainly safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The shell command line `galaxy job exec … <command...>` sends. */
export function execCommandLine(args: readonly string[]): string {
  if (args.length === 1) return args[0] ?? '';
  return args.map(shellQuote).join(' ');
}
