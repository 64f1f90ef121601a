/** The pino logger every daemon writes through, with secrets (tokens, credentials, secret env values) redacted. */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Fields whose values are secrets wherever they appear (one or two levels deep). */
const SECRET_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  '*.authorization',
  '*.*.authorization',
  'metadata.authorization',
  'env.GALAXY_TOKEN',
  'env.GALAXY_POD_TOKEN',
  '*.env.GALAXY_TOKEN',
  '*.env.GALAXY_POD_TOKEN',
  '*.*.env.GALAXY_POD_TOKEN',
];

/** What a redacted value reads as. */
export const REDACTED = '[Redacted]';

/**
 * A copy of an environment whose secrets are hidden: every value whose key ends in `TOKEN` (or
 * `SECRET`, `PASSWORD`). The logger applies it to any `env` field; use it before showing an
 * environment anywhere else.
 */
export function redactEnv(env: Readonly<Record<string, string | undefined>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {}))
    if (value !== undefined) out[key] = /(TOKEN|SECRET|PASSWORD)$/i.test(key) ? REDACTED : value;
  return out;
}

/**
 * The JSON logger every Galaxy process uses. `GALAXY_LOG_LEVEL` sets the level (default info);
 * `GALAXY_LOG_FILE`, when set, is where it appends instead of stdout (or `fd` 2, stderr). Fields that could carry secrets are redacted: tokens, authorization
 * metadata, and the secret variables of any logged `env`.
 */
export function createLogger(component: string, level?: string, fd: 1 | 2 = 1): Logger {
  const options = {
    name: component,
    level: level ?? process.env.GALAXY_LOG_LEVEL ?? 'info',
    redact: SECRET_PATHS,
    serializers: { env: redactEnv },
  };
  // GALAXY_LOG_FILE appends every process's log to one file (the test suite audits it for tokens).
  const file = process.env.GALAXY_LOG_FILE;
  if (file) return pino(options, pino.destination({ dest: file, append: true, sync: true }));
  return fd === 1 ? pino(options) : pino(options, pino.destination({ fd, sync: true }));
}
