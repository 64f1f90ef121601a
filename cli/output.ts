/**
 * Output of CLI listings: a table for people (`wide`: with more columns), JSON or YAML for
 * scripts. JSON and YAML of protobuf messages come from the generated `toJSON` (the proto3 JSON
 * mapping: enum names, not numbers; camelCase fields; fields at their default left out).
 */
import Table from 'cli-table3';
import { stringify } from 'yaml';
import { GalaxyError } from '../core/errors.js';

/** The output formats every listing supports. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;

/** `--output`'s help text. */
export const OUTPUT_HELP = 'table, wide (more columns), json or yaml';

/** A generated message type: how its JSON is made. */
export interface MessageType<T> {
  toJSON(message: T): unknown;
}

/** `rows` as JSON or YAML text, through `type`'s toJSON when the rows are messages. */
export function serialize<T>(rows: T | readonly T[], format: 'json' | 'yaml', type?: MessageType<T>): string {
  const data = Array.isArray(rows)
    ? (rows as readonly T[]).map((row) => (type ? type.toJSON(row) : row))
    : type
      ? type.toJSON(rows as T)
      : rows;
  return format === 'json' ? JSON.stringify(data, null, 2) : stringify(data).trimEnd();
}

/** One of {@link OUTPUT_FORMATS}. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Validates an `--output` value. */
export function parseOutputFormat(value: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new GalaxyError(
    'GALAXY_E_INVALID_ARGUMENT',
    `--output must be one of ${OUTPUT_FORMATS.join(', ')}, got "${value}"`,
  );
}

/** A column: its heading and how to read it from a row. */
export interface Column<T> {
  readonly heading: string;
  readonly value: (row: T) => string | number;
  /** Shown with `-o wide` only. */
  readonly wide?: boolean;
}

/**
 * Renders rows. JSON and YAML print the whole rows (through `type`'s toJSON for messages); the
 * table prints the columns (`wide`: the wide ones too). Colour is off when `NO_COLOR` is set or
 * stdout is not a terminal.
 */
export function render<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  format: OutputFormat,
  type?: MessageType<T>,
): string {
  if (format === 'json' || format === 'yaml') return serialize(rows, format, type);
  columns = columns.filter((c) => format === 'wide' || c.wide !== true);
  const colour = process.stdout.isTTY && !process.env.NO_COLOR;
  const table = new Table({
    head: columns.map((c) => c.heading),
    style: { head: colour ? ['cyan'] : [], border: colour ? ['grey'] : [], compact: true },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
  });
  for (const row of rows) table.push(columns.map((c) => String(c.value(row))));
  return table.toString();
}
