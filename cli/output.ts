/**
 * Output of CLI listings: a table for people, JSON for scripts.
 */
import Table from 'cli-table3';
import { GalaxyError } from '../core/errors.js';

/** The output formats every listing supports. */
export const OUTPUT_FORMATS = ['table', 'json'] as const;

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
}

/**
 * Renders rows. JSON prints the raw objects (all fields, stable for scripts); the table prints
 * the columns. Colour is off when `NO_COLOR` is set or stdout is not a terminal.
 */
export function render<T>(rows: readonly T[], columns: readonly Column<T>[], format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
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
