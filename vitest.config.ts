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

/**
 * Tests that measure the kernel's or a process's timing (cpu floors, bandwidth throttles, bounds in
 * ms) or that hold a host-wide resource (cgroup roots, loop devices, network namespaces and nft
 * tables): run one file at a time, on an otherwise quiet machine (vitest runs this sequential group after the paired ones, not before).
 */
const ALONE = [
  'test/kernel/**/*.test.ts',
  'isolators/**/*.test.ts',
  'agent/containerizer/**/*.test.ts',
  'test/security/appmaster-bounds.test.ts',
  'test/security/pod-boundary.test.ts',
  'test/security/container-sandbox.test.ts',
  'test/security/network-boundary.test.ts',
  'test/chaos/agent-restart.test.ts',
  // Bounds in ms on an election (a SIGKILLed leader replaced, a stopped one fenced).
  'test/chaos/master-election.test.ts',
  // Map tasks failed 4 times over with other files beside them (2 runs in 6); likely cause found
  // since (ports in the ephemeral range, see the file): kept alone until full runs show it gone.
  'test/chaos/mapreduce-restart.test.ts',
  'frameworks/mapreduce/mapreduce.test.ts',
  'test/security/pod-attack.test.ts',
  'test/e2e/up.test.ts',
  // Measures its tasks' usage: a busy machine must not blur the service's idle and busy phases.
  'test/e2e/revocable.test.ts',
];
const EXCLUDE = ['node_modules/**', 'dist/**'];

export default defineConfig({
  test: {
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: logEnv,
    projects: [
      {
        extends: true,
        test: { name: 'alone', include: ALONE, exclude: EXCLUDE, fileParallelism: false, sequence: { groupOrder: 0 } },
      },
      {
        // The rest mostly waits (sessions, health checks, timers): two files at a time on two cores.
        extends: true,
        test: {
          name: 'paired',
          include: ['**/*.test.ts'],
          exclude: [...EXCLUDE, ...ALONE],
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
