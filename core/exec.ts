/**
 * Runs a system command (mount, mkfs, ip, tc…) and turns its failure into a coded error that
 * carries the command and what it printed.
 */
import { execFile } from 'node:child_process';
import { GalaxyError, type ErrorCode } from './errors.js';

/** Runs `file args`; resolves with stdout, rejects with a {@link GalaxyError}. */
export function run(
  file: string,
  args: readonly string[],
  code: ErrorCode = 'GALAXY_E_LAUNCH_FAILED',
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new GalaxyError(code, `${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}
