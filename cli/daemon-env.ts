/**
 * Daemon flags from the environment: every flag of a daemon command can also be set with
 * `GALAXY_<DAEMON>_<FLAG>` (`galaxy agent --work-dir` ← `GALAXY_AGENT_WORK_DIR`), as systemd
 * units and containers set them. A flag on the command line wins over the environment, which wins
 * over the default. The daemon's name is in the variable so that one environment can hold the
 * settings of several daemons on one host without them crossing.
 */
import type { Command, Option } from 'commander';

/** The daemon commands, as paths of command names below the program. */
export const DAEMON_COMMANDS = [['master'], ['agent'], ['appmaster'], ['framework', 'run'], ['up']] as const;

/** `GALAXY_AGENT_WORK_DIR` for `--work-dir` of `agent`. */
export function envName(path: readonly string[], option: Option): string {
  const flag = (option.long ?? option.short ?? '').replace(/^-+/, '');
  return ['GALAXY', ...path, flag].join('_').replace(/-/g, '_').toUpperCase();
}

function find(program: Command, path: readonly string[]): Command | undefined {
  let command: Command | undefined = program;
  for (const name of path) command = command?.commands.find((c) => c.name() === name);
  return command;
}

/**
 * Binds every flag of every daemon command that has no variable yet to its `GALAXY_*` variable.
 * Commander wires a variable to its option only when the option is added, so the variable is
 * named on the option (for `--help`) and applied here, before the command's action runs.
 */
export function bindDaemonEnv(program: Command, daemons: readonly (readonly string[])[] = DAEMON_COMMANDS): void {
  for (const path of daemons) {
    const command = find(program, path);
    if (!command) continue;
    const bound = command.options.filter((option) => option.envVar === undefined && option.long !== '--help');
    for (const option of bound) option.env(envName(path, option));
    command.hook('preAction', () => {
      for (const option of bound) applyEnv(command, option);
    });
  }
}

/** Sets `option` from its variable unless the command line set it. */
function applyEnv(command: Command, option: Option): void {
  const value = option.envVar === undefined ? undefined : process.env[option.envVar];
  if (value === undefined) return;
  const key = option.attributeName();
  const source = command.getOptionValueSource(key);
  if (source !== undefined && source !== 'default' && source !== 'implied') return;
  const takesValue = option.required || option.optional;
  const parsed: unknown = !takesValue
    ? !option.negate
    : option.parseArg
      ? option.parseArg(value, command.getOptionValue(key) as unknown)
      : value;
  command.setOptionValueWithSource(key, parsed, 'env');
}
