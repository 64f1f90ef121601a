import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The JSON logger every Galaxy process uses. `GALAXY_LOG_LEVEL` sets the level (default info;
 * `silent` in tests). Fields that could carry secrets are redacted.
 */
export function createLogger(component: string, level?: string): Logger {
  return pino({
    name: component,
    level: level ?? process.env.GALAXY_LOG_LEVEL ?? 'info',
    redact: ['token', '*.token', 'authorization', '*.authorization'],
  });
}
