/**
 * The suite's log audit (see vitest.config.ts and test/global-setup.ts): every process logs into
 * one file that is scanned for tokens at the end. Daemons a test spawns and reads the output of
 * must log to their stdout instead; {@link auditedChild} gives them that environment and copies
 * what they print into the audited file, so their logs are audited too.
 */
import { appendFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

/** `env` for a spawned daemon whose output the test reads: its logs go to stdout. */
export function stdoutLogging(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, GALAXY_LOG_FILE: '' };
}

/** Copies everything `child` prints into the audited log file (when the suite keeps one). */
export function auditedChild<T extends ChildProcess>(child: T): T {
  const file = process.env.GALAXY_LOG_FILE;
  if (!file) return child;
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer | string) => {
      try {
        appendFileSync(file, chunk);
      } catch {
        // the audit file is gone (the run is ending): nothing to copy into
      }
    });
  }
  return child;
}
