/**
 * No open mode by accident, against real processes:
 *
 * - `galaxy master` without `--coordinator` authenticates: its users live in its work directory,
 *   its admin token in `<work-dir>/admin.token` (0600), kept across restarts; calls without a valid
 *   token are refused, from the CLI, a framework and an agent alike;
 * - only `--insecure-no-auth` runs it open, and it says so on every start;
 * - `galaxy framework run` will not serve an unauthenticated API unless told to;
 * - a framework whose token the master refuses (unknown: UNAUTHENTICATED; an agent's:
 *   PERMISSION_DENIED) gets a clear error and stops: the example exits non-zero with the reason,
 *   and the SDK's driver tells its scheduler once and never subscribes again.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../core/auth/principal.js';
import { isGalaxyError, type GalaxyError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { GrpcSchedulerDriver, type SchedulerError } from '../../frameworks/sdk/index.js';
import { startMaster } from '../../master/master.js';
import { runCli } from '../helpers/cli.js';
import { masterJoinToken } from '../helpers/identity.js';
import { galaxy, startMasterProcess, stopAll, type MasterProcess } from '../helpers/processes.js';
import { rawAgent, rawFramework } from '../helpers/raw-clients.js';

const run = promisify(execFile);
const SLEEPERS = fileURLToPath(new URL('../../dist/examples/frameworks/sleepers.js', import.meta.url));

let dir = '';
let master: MasterProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-sec-open-'));
  master = await startMasterProcess(join(dir, 'master'));
});

afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the sleepers example; resolves with its exit code, output and how long it ran. */
async function sleepers(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; ms: number }> {
  const started = Date.now();
  const clean: NodeJS.ProcessEnv = { ...process.env, GALAXY_LOG_LEVEL: 'silent' };
  delete clean.GALAXY_TOKEN;
  delete clean.GALAXY_TOKEN_FILE;
  try {
    await run(process.execPath, [SLEEPERS, '--master', master.address, '--count', '1', ...args], {
      cwd: dir,
      env: { ...clean, ...env },
      timeout: 30_000,
    });
    return { code: 0, stderr: '', ms: Date.now() - started };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '', ms: Date.now() - started };
  }
}

describe('a master without --coordinator', { timeout: 60_000 }, () => {
  it('writes its admin token to a 0600 file and prints only the path', async () => {
    const path = join(master.workDir, 'admin.token');
    expect(master.proc.lines.items).toContain(`admin token: ${path}`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(master.adminToken).toMatch(/^glx_[A-Za-z0-9_-]{43}$/);
    expect(master.proc.lines.items.some((l) => l.includes(master.adminToken))).toBe(false);
  });

  it('refuses unauthenticated calls from the CLI, a framework and an agent, and answers the admin', async () => {
    const anonymous = await runCli(['agents', '--master', master.address]);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(
      /GALAXY_E_UNAUTHENTICATED: the call to \/galaxy\.v1\.Operator\/ListAgents carries no bearer token/,
    );
    const fw = rawFramework(master.address, { name: 'anonymous' });
    expect((await fw.error).code).toBe('GALAXY_E_UNAUTHENTICATED');
    fw.close();
    const agent = rawAgent(master.address, { hostname: 'anonymous' });
    await expect(agent.registered).rejects.toThrow(/GALAXY_E_UNAUTHENTICATED: .*carries no bearer token/);
    agent.close();
    const admin = await runCli(['agents', '--master', master.address, '-o', 'json'], {
      env: { GALAXY_TOKEN_FILE: join(master.workDir, 'admin.token') },
    });
    expect(admin.code, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout)).toEqual([]);
  });

  it('keeps its admin token across a restart', async () => {
    await master.proc.stop();
    master = await startMasterProcess(master.workDir);
    expect(master.adminToken).toBe((await readFile(join(master.workDir, 'admin.token'), 'utf8')).trim());
    const admin = await runCli(['agents', '--master', master.address], { env: { GALAXY_TOKEN: master.adminToken } });
    expect(admin.code, admin.stderr).toBe(0);
  });
});

describe('open mode', { timeout: 60_000 }, () => {
  it('needs --insecure-no-auth, and warns on every start', async () => {
    for (let start = 0; start < 2; start++) {
      const open = galaxy(['master', '--listen', '127.0.0.1:0', '--insecure-no-auth']);
      const line = await open.lines.waitFor((l) => l.includes('"master started"'), 15_000, 'the open master');
      const address = (JSON.parse(line) as { address: string }).address;
      await open.lines.waitFor(
        (l) =>
          l ===
          `WARNING: --insecure-no-auth: the master at ${address} authenticates no one; anybody who reaches it acts as an admin`,
        5000,
        'the warning',
      );
      const anyone = await runCli(['agents', '--master', address]);
      expect(anyone.code, anyone.stderr).toBe(0);
      await open.stop();
    }
  });

  it('galaxy framework run refuses to serve an unauthenticated API unless told to', async () => {
    const refused = await runCli(['framework', 'run', 'batch', '--master', master.address], {
      env: { GALAXY_TOKEN: master.adminToken },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /GALAXY_E_INVALID_ARGUMENT: galaxy framework run authenticates its API's callers .* pass --coordinator <url>.*, or --insecure-no-auth/,
    );
  });
});

describe('a framework whose token is refused', { timeout: 60_000 }, () => {
  it('exits with the reason instead of retrying: an unknown token, or an agent credential', async () => {
    const unknown = await sleepers(['--token', `glx_${'x'.repeat(43)}`]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /error: GALAXY_E_UNAUTHENTICATED: the call to \/galaxy\.v1\.Scheduler\/Subscribe carries an unknown or revoked token/,
    );
    expect(unknown.ms).toBeLessThan(10_000);

    // An agent's credential (from a join token) is no framework's.
    const joined = rawAgent(master.address, { hostname: 'agent-as-framework' }, [], [], await masterJoinToken(master));
    await joined.registered;
    const file = join(dir, 'agent.credential');
    await writeFile(file, `${await joined.credential}\n`, { mode: 0o600 });
    const agentToken = await sleepers([], { GALAXY_TOKEN_FILE: file });
    joined.close();
    expect(agentToken.code).toBe(2);
    expect(agentToken.stderr).toMatch(
      /error: GALAXY_E_PERMISSION_DENIED: agent agent may not call galaxy\.v1\.Scheduler/,
    );
  });

  it('the SDK driver reports it once, as fatal, and never subscribes again', async () => {
    let attempts = 0;
    const authenticate = (token: string): Principal | undefined => {
      attempts += 1;
      return token === 'glx_good' ? { user: 'alice', admin: false, kind: 'user' } : undefined;
    };
    const inProcess = await startMaster({ listen: '127.0.0.1:0', logLevel: 'silent', auth: { authenticate } });
    const errors: SchedulerError[] = [];
    const driver = new GrpcSchedulerDriver({
      master: inProcess.address,
      framework: { name: 'bad-token' },
      token: 'glx_bad',
      reconnect: { initialMs: 50, maxMs: 100 },
      logger: createLogger('test', 'silent'),
      scheduler: {
        error: (_d, error) => {
          errors.push(error);
        },
      },
    });
    try {
      const refused = await driver.start().catch((error: unknown) => error as GalaxyError);
      expect(isGalaxyError(refused, 'GALAXY_E_UNAUTHENTICATED')).toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
      expect(attempts).toBe(1);
      expect(errors).toEqual([expect.objectContaining({ code: 'GALAXY_E_UNAUTHENTICATED', fatal: true })]);
    } finally {
      await driver.stop();
      await inProcess.stop();
    }
  });
});
