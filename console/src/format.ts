/** Human units for the console's tables. */

/** Millicores as cores: `1.5`, `0.25`. */
export function cores(millicores: number | undefined): string {
  return `${Math.round((millicores ?? 0) / 10) / 100}`;
}

/** Bytes as `512 MiB`, `1.5 GiB`. */
export function bytes(n: number | undefined): string {
  let value = n ?? 0;
  for (const unit of ['B', 'KiB', 'MiB', 'GiB', 'TiB']) {
    if (value < 1024 || unit === 'TiB') return `${Math.round(value * 10) / 10} ${unit}`;
    value /= 1024;
  }
  return `${value}`;
}

/** A share as a percentage. */
export function percent(share: number | undefined): string {
  return `${Math.round((share ?? 0) * 1000) / 10}%`;
}

/** Seconds since the epoch as a local time of day. */
export function clock(seconds: number | undefined): string {
  return seconds ? new Date(seconds * 1000).toLocaleTimeString() : '';
}

/** The first characters of a long id. */
export function short(id: string | undefined, n = 12): string {
  return (id ?? '').length > n ? `${(id ?? '').slice(0, n)}…` : (id ?? '');
}
