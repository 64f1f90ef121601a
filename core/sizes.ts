/**
 * The one size parser: the CLI (`--mem 8Gi`, `--resources "mem:4GiB"`, `--limit maxMessageBytes=4MiB`)
 * and job specs (`memory: 256Mi`) read sizes with it.
 *
 * The rule: a size is a number with a unit — `B`; `K`, `Ki`, `KiB`, `KB`; `M`, `Mi`, `MiB`, `MB`;
 * `G`, `Gi`, `GiB`, `GB`; `T`, `Ti`, `TiB`, `TB` (any case; every one binary: `1M` = `1Mi` =
 * 1,048,576 bytes, as in Mesos). A bare number in text is refused as ambiguous (bytes, as the spec
 * read it, or MiB, as the CLI did?) except `0`. Where a field's name or type says the unit, a bare
 * number is that unit: a job spec's JSON/YAML number is bytes, `--limit …Bytes=4194304` is bytes.
 */
import { GalaxyError } from './errors.js';

const KiB = 1024;

/** Each unit (lower case) and the bytes it stands for. */
const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: KiB,
  ki: KiB,
  kib: KiB,
  kb: KiB,
  m: KiB ** 2,
  mi: KiB ** 2,
  mib: KiB ** 2,
  mb: KiB ** 2,
  g: KiB ** 3,
  gi: KiB ** 3,
  gib: KiB ** 3,
  gb: KiB ** 3,
  t: KiB ** 4,
  ti: KiB ** 4,
  tib: KiB ** 4,
  tb: KiB ** 4,
};

/** What {@link readSize} found: bytes, or why the text is not a size. */
export type SizeReading = { readonly bytes: number } | { readonly problem: string };

/**
 * Reads `text` as a size in bytes (the rule above), without throwing: for callers that report
 * problems their own way (the job spec's schema). The problem names the text and a fix.
 */
export function readSize(text: string): SizeReading {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const number = match?.[1];
  const unit = (match?.[2] ?? '').toLowerCase();
  if (number === undefined) return { problem: `cannot read "${shown}" as a size (try 256Mi or 1Gi)` };
  if (unit === '') {
    if (Number(number) === 0) return { bytes: 0 };
    return {
      problem: `"${shown}" has no unit, so it is ambiguous: write ${number}Mi for MiB, ${number}Gi for GiB or ${number}B for bytes`,
    };
  }
  const factor = UNITS[unit];
  if (factor === undefined)
    return { problem: `cannot read "${shown}" as a size: unknown unit "${match?.[2] ?? ''}" (try 256Mi or 1Gi)` };
  const bytes = Math.round(Number(number) * factor);
  if (!Number.isSafeInteger(bytes)) return { problem: `cannot read "${shown}" as a size: it is too large` };
  return { bytes };
}

/** Reads `text` as a size in bytes; throws `GALAXY_E_INVALID_RESOURCES` naming `where` otherwise. */
export function parseSize(text: string, where = 'size'): number {
  const reading = readSize(text);
  if ('problem' in reading) throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: ${reading.problem}`);
  return reading.bytes;
}
