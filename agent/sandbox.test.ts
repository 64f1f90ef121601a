/**
 * Sandboxes: one fresh directory per run of a task, never outside the work dir.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGalaxyError } from '../core/errors.js';
import { createSandbox, newRunId } from './sandbox.js';

let workDir = '';
beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-sandbox-'));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('sandbox', () => {
  it('creates <workDir>/sandboxes/<framework>/<task>-<run>, a new one for every run', async () => {
    const first = await createSandbox(workDir, 'fw-1', 'web.0', newRunId());
    const second = await createSandbox(workDir, 'fw-1', 'web.0', newRunId());
    expect(first).toMatch(new RegExp(`^${workDir}/sandboxes/fw-1/web\\.0-[a-z0-9]+$`));
    expect(second).not.toBe(first);
    expect((await stat(second)).isDirectory()).toBe(true);
  });

  it('refuses task and framework ids that would escape the sandbox root', async () => {
    for (const [fw, task] of [
      ['fw', '../../etc'],
      ['..', 't'],
      ['fw', 'a/b'],
      ['fw', 'a..b'],
      ['fw', ''],
    ] as const) {
      const error: unknown = await createSandbox(workDir, fw, task, newRunId()).catch((e: unknown) => e);
      expect(isGalaxyError(error, 'GALAXY_E_TASK_INVALID'), `${fw}/${task}`).toBe(true);
    }
  });
});
