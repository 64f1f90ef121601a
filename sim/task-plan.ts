/**
 * What a simulated task does, read from its command: the simulator runs no process, so a task's
 * command is a tiny script it understands. `sleep S` runs S seconds of trace time and finishes;
 * `exit C` ends with code C (non-zero: TASK_FAILED); `sleep S; exit C` does both; `sleep infinity`
 * and the AppMaster's `galaxy appworker` run until killed; `true`/`false` end at once. Anything
 * else is refused as the simulator's limit, never silently run as something it is not.
 */
import type { CommandInfo } from '../proto/gen/galaxy/v1/common.js';

/** How a simulated task plays out. */
export type TaskPlan =
  /** Runs `durationS` seconds of trace time (forever when undefined), then exits with `exitCode`. */
  | {
      readonly kind: 'run';
      readonly durationS: number | undefined;
      readonly exitCode: number;
      readonly worker: boolean;
    }
  /** A command the simulator cannot play; the task fails at once with `message`. */
  | { readonly kind: 'unsupported'; readonly message: string };

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
/** Longest duration a task may ask for: a timer beyond this would overflow Node's 32-bit delay. */
const MAX_DURATION_S = 2_000_000;

function unsupported(command: string): TaskPlan {
  return {
    kind: 'unsupported',
    message: `the simulator runs only "sleep S", "exit C", "sleep S; exit C", "sleep infinity", "true", "false" and the AppWorker, not "${command.slice(0, 80)}"`,
  };
}

/** One statement of the script: its words. */
function statements(command: CommandInfo): string[][] {
  if (command.shell.trim() === '') return [command.argv.map((w) => w.trim())];
  return command.shell
    .split(/;|&&|\n/)
    .map((s) => s.trim().split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0);
}

/** True when `argv` starts the AppWorker (`… galaxy appworker`, or its own entry `… appworker/bin.js`). */
function isAppWorker(argv: readonly string[]): boolean {
  return argv.some((word) => word === 'appworker' || word.endsWith('/appworker/bin.js'));
}

/** Reads the plan of a task's command. */
export function planTask(command: CommandInfo | undefined): TaskPlan {
  if (!command) return unsupported('');
  const text = command.shell.trim() !== '' ? command.shell : command.argv.join(' ');
  if (command.shell.trim() === '' && isAppWorker(command.argv))
    return { kind: 'run', durationS: undefined, exitCode: 0, worker: true };
  let durationS: number | undefined = 0;
  let exitCode = 0;
  let ended = false;
  for (const words of statements(command)) {
    if (ended) return unsupported(text);
    const [verb, arg, ...rest] = words;
    if (rest.length > 0) return unsupported(text);
    if (verb === 'sleep' && arg === 'infinity') {
      durationS = undefined;
      exitCode = 0;
    } else if (verb === 'sleep' && arg !== undefined && NUMBER.test(arg)) {
      if (durationS !== undefined) durationS = Math.min(MAX_DURATION_S, durationS + Number(arg));
      exitCode = 0;
    } else if (verb === 'exit' && arg !== undefined && /^\d{1,3}$/.test(arg) && Number(arg) <= 255) {
      exitCode = Number(arg);
      ended = true;
    } else if ((verb === 'true' || verb === 'false' || verb === ':') && arg === undefined) {
      exitCode = verb === 'false' ? 1 : 0;
    } else return unsupported(text);
  }
  return { kind: 'run', durationS, exitCode, worker: false };
}
