/**
 * The TLS files of this CLI process: the global `--tls-cert`, `--tls-key` and `--tls-ca` flags
 * (or `$GALAXY_TLS_CERT`, `$GALAXY_TLS_KEY`, `$GALAXY_TLS_CA`), used by every client the CLI makes
 * and by the servers of the daemons it runs (see `core/tls.ts`).
 */
import type { TlsFiles } from '../core/tls.js';

let files: TlsFiles | undefined;

/** Records the global TLS flags (cli/main.ts does, before every command). */
export function setTlsFlags(flags: TlsFiles): void {
  files = flags;
}

/** The CLI's TLS files; undefined when none is named (plaintext). */
export function cliTls(): TlsFiles | undefined {
  return files;
}
