/**
 * Runs the built CLI once and collects what it printed, for tests whose commands print secrets
 * (a new user's token, a join token): unlike {@link galaxy}, nothing is copied into the suite's
 * audited log. The environment carries none of the caller's token settings unless given.
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { GALAXY_BIN } from './processes.js';

const run = promisify(execFile);

/** What one CLI run printed, and its exit code. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `node dist/cli/main.js ...args` in `cwd` (default the temp dir), with `env` added to a clean
 * environment; killed after `timeoutMs` (default 20 s), its output kept up to `maxBuffer` bytes.
 */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; maxBuffer?: number } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', GALAXY_LOG_LEVEL: 'warn' };
  delete env.GALAXY_TOKEN;
  delete env.GALAXY_TOKEN_FILE;
  try {
    const { stdout, stderr } = await run(process.execPath, [GALAXY_BIN, ...args], {
      cwd: options.cwd ?? tmpdir(),
      env: { ...env, ...options.env },
      timeout: options.timeoutMs ?? 20_000,
      ...(options.maxBuffer === undefined ? {} : { maxBuffer: options.maxBuffer }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}
