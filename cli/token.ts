/**
 * The token the CLI calls servers with: the global `--token` flag, else what
 * {@link resolveToken} finds ($GALAXY_TOKEN, $GALAXY_TOKEN_FILE, ./.galaxy/admin.token).
 */
import { resolveToken } from '../core/auth/client.js';

let flag: string | undefined;

/** Records the global `--token` flag (cli/main.ts does, before every command). */
export function setTokenFlag(value: string | undefined): void {
  flag = value;
}

/** The CLI's token, or undefined when there is none (open servers need none). */
export function cliToken(): string | undefined {
  return resolveToken({ flag });
}
