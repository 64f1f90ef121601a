/**
 * `galaxy config` contexts against a real master: with only a context (no flags, no environment)
 * the CLI reaches the master with the context's token file; a flag still wins over the context.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GALAXY_BIN, startMasterProcess, stopAll, type MasterProcess } from '../helpers/processes.js';

const run = promisify(execFile);
let dir = '';
let master: MasterProcess;
/** The environment of an operator's shell: no Galaxy variable but where the config is. */
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-contexts-'));
  master = await startMasterProcess(join(dir, 'master'));
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GALAXY_')));
  env.GALAXY_CONFIG = join(dir, 'config.yaml');
  env.NO_COLOR = '1';
});
afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await run(process.execPath, [GALAXY_BIN, ...args], { env, cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

describe('galaxy config contexts', () => {
  it('reach a master through the current context, and a flag still wins', async () => {
    expect((await cli('agents')).code).not.toBe(0); // no context yet: the default address, no token
    const tokenFile = join(master.workDir, 'admin.token');
    expect(
      (await cli('config', 'set-context', 'lab', '--master', master.address, '--token-file', tokenFile)).code,
    ).toBe(0);
    expect(
      (await cli('config', 'set-context', 'dead', '--master', '127.0.0.1:1', '--token-file', tokenFile)).code,
    ).toBe(0);
    expect((await cli('config', 'current-context')).stdout.trim()).toBe('lab');

    const agents = await cli('agents', '-o', 'json');
    expect(agents.code, agents.stderr).toBe(0);
    expect(JSON.parse(agents.stdout)).toEqual([]);

    expect((await cli('config', 'use-context', 'dead')).code).toBe(0);
    const dead = await cli('agents');
    expect(dead.code).toBe(3); // unreachable: the context's address is used
    expect((await cli('agents', '--master', master.address)).code).toBe(0); // the flag wins
    expect((await cli('--context', 'lab', 'agents')).code).toBe(0);

    const listed = JSON.parse((await cli('config', 'get-contexts', '-o', 'json')).stdout) as {
      name: string;
      current: boolean;
    }[];
    expect(listed.map((c) => [c.name, c.current])).toEqual([
      ['lab', false],
      ['dead', true],
    ]);
    expect((await cli('config', 'use-context', 'nope')).code).toBe(2);
  });
});
