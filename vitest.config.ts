import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Unless a developer asks to see logs (GALAXY_TEST_LOG_LEVEL), every process the suite runs logs
// at info into one file, which the global teardown audits for tokens (test/global-setup.ts).
const watching = process.env.GALAXY_TEST_LOG_LEVEL !== undefined;
if (!watching) process.env.GALAXY_SUITE_LOG ??= join(tmpdir(), `galaxy-suite-${process.pid}-${Date.now()}.log`);
const logEnv: Record<string, string> = watching
  ? { GALAXY_LOG_LEVEL: process.env.GALAXY_TEST_LOG_LEVEL ?? 'info' }
  : { GALAXY_LOG_LEVEL: 'info', GALAXY_LOG_FILE: process.env.GALAXY_SUITE_LOG ?? '' };

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: logEnv,
  },
});
