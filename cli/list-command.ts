/**
 * The one shape of a listing command (`galaxy agents`, `galaxy pool list`, `galaxy grants`, …): it
 * takes `--master` and `--output`, asks the master for rows and prints them as a table or JSON.
 * A listing says only what it shows: its description, columns and how to get its rows.
 */
import type { Command } from 'commander';
import { LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import { operatorClient, type Operator } from './operator-client.js';
import { OUTPUT_HELP, parseOutputFormat, render, type Column, type MessageType } from './output.js';

/** `-m, --master`: every command that calls the master takes it. */
export function masterOption(defaultMaster: string): readonly [string, string, string] {
  return ['-m, --master <host:port|url>', 'the master, or zk://… to find the leader', defaultMaster];
}

/** `-o, --output`: table (for people) or json (for scripts). */
export const OUTPUT_OPTION = ['-o, --output <format>', OUTPUT_HELP, 'table'] as const;

/** Runs `fn` against the master named by `--master` (its leader), closing the client afterwards. */
export async function withOperator<T>(master: string, fn: (op: Operator) => Promise<T>): Promise<T> {
  const locator = new LeaderLocator(master, MASTER_GROUP);
  const address = await locator.locate();
  const op = operatorClient(address);
  try {
    return await fn(op);
  } finally {
    op.close();
  }
}

/** What a listing shows. */
export interface Listing<T> {
  readonly description: string;
  readonly columns: readonly Column<T>[];
  /** The rows' message type, for -o json|yaml through its toJSON. */
  readonly type?: MessageType<T>;
  /** The rows; `argument` is the command's optional operand (`list [agent]`), if it has one. */
  rows(op: Operator, argument: string | undefined): Promise<readonly T[]>;
}

/**
 * Adds the listing `usage` (a command name, with an optional `[operand]`) under `parent`;
 * `isDefault` makes it what `parent` alone runs (`galaxy weights` = `galaxy weights show`).
 */
export function addListCommand<T>(
  parent: Command,
  usage: string,
  defaultMaster: string,
  listing: Listing<T>,
  { isDefault = false }: { isDefault?: boolean } = {},
): Command {
  return parent
    .command(usage, { isDefault })
    .description(listing.description)
    .option(...masterOption(defaultMaster))
    .option(...OUTPUT_OPTION)
    .action(async (...params: unknown[]) => {
      // Commander passes the operands, then the options, then the command itself.
      const command = params[params.length - 1] as Command;
      const opts = command.opts<{ master: string; output: string }>();
      const format = parseOutputFormat(opts.output);
      const rows = await withOperator(opts.master, (op) => listing.rows(op, command.args[0]));
      console.log(render(rows, listing.columns, format, listing.type));
    });
}
