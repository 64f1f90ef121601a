/**
 * Identity end to end: `galaxy up` authenticates every server, writes the admin token to a 0600
 * file (printing only its path), and the CLI finds it in ./.galaxy/admin.token. Without a token,
 * or with a wrong one, calls are refused with GALAXY_E_UNAUTHENTICATED; admins add users whose
 * tokens work at once and stop working when the user is removed; non-admins cannot manage users.
 * Pods pull with their own token. Finally no token used anywhere appears in any output or file
 * the cluster wrote.
 */
import { readdir, readFile, rm, stat, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { galaxy, processesWithEnv, stopAll, type GalaxyProcess } from '../helpers/processes.js';
import { readyAddresses, upArgs } from '../helpers/up-args.js';

let base = '';
let workDir = '';
let up: GalaxyProcess;
let master = '';
let appmaster = '';
/** Every stdout/stderr text this test saw. */
const outputs: string[] = [];
/** Every token this test used or found. */
const tokens = new Set<string>();

/** Runs the CLI in `cwd` (see {@link runCli}), keeping what it printed for the leak check. */
async function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const result = await runCli(args, options);
  outputs.push(result.stdout, result.stderr);
  return result;
}

/** Every regular file under `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** GALAXY_POD_TOKEN of every live process of this cluster's pods, by command line. */
async function podTokens(): Promise<{ command: string; token: string }[]> {
  const found: { command: string; token: string }[] = [];
  for (const pid of processesWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`)) {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    const command = (await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '')).split('\0').join(' ');
    const token = environ.split('\0').find((v) => v.startsWith('GALAXY_POD_TOKEN='));
    if (token) found.push({ command, token: token.slice('GALAXY_POD_TOKEN='.length) });
  }
  return found;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'galaxy-auth-'));
  workDir = join(base, '.galaxy');
  up = galaxy(
    // Ports of its own: other clusters on this machine use the default range.
    upArgs(workDir, 1, ['--resources', 'ports:[22210-22229]']),
    // Full logs: every trace line the daemons write is searched for tokens at the end.
    { GALAXY_LOG_LEVEL: 'debug' },
  );
  const ready = await up.lines.waitFor((l) => l.startsWith('ready'), 90_000, 'the ready line');
  ({ master, appmaster } = readyAddresses(ready));
}, 120_000);

afterAll(async () => {
  await stopAll();
  if (base) await rm(base, { recursive: true, force: true });
});

describe('identity with galaxy up', { timeout: 60_000 }, () => {
  it('writes the admin token to a 0600 file and prints only its path', async () => {
    const path = join(workDir, 'admin.token');
    expect(up.lines.items).toContain(`admin token: ${path}`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const admin = (await readFile(path, 'utf8')).trim();
    expect(admin).toMatch(/^glx_[A-Za-z0-9_-]{43}$/);
    tokens.add(admin);
  });

  it('refuses the CLI without a token or with a wrong one, and answers it with ./.galaxy/admin.token', async () => {
    const none = await cli(['tasks', '--master', master]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /GALAXY_E_UNAUTHENTICATED: the call to \/galaxy\.v1\.Operator\/ListTasks carries no bearer token/,
    );
    const wrong = await cli(['job', 'list', '-a', appmaster, '--token', 'glx_not-a-real-token']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/GALAXY_E_UNAUTHENTICATED: .*unknown or revoked token/);
    // The README's way: run the CLI where `galaxy up` keeps its state.
    const tasks = await cli(['tasks', '--master', master, '-o', 'json'], { cwd: base });
    expect(tasks.code, tasks.stderr).toBe(0);
    expect(JSON.parse(tasks.stdout)).toHaveLength(1);
    const show = await cli(['job', 'show', 'hello', '-a', appmaster], { cwd: base });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/hello-0 .* running .* healthy/);
  });

  it('lets the admin add users whose tokens work at once, and only admins manage users', async () => {
    const added = await cli(['user', 'add', 'alice', '--master', master], { cwd: base });
    expect(added.code, added.stderr).toBe(0);
    const alice = added.stdout.trim();
    expect(alice).toMatch(/^glx_[A-Za-z0-9_-]{43}$/);
    tokens.add(alice);
    const asAlice = await cli(['agents', '--master', master, '-o', 'json'], { env: { GALAXY_TOKEN: alice } });
    expect(asAlice.code, asAlice.stderr).toBe(0);
    expect(JSON.parse(asAlice.stdout)).toHaveLength(1);
    const denied = await cli(['user', 'add', 'mallory', '--admin', '--master', master, '--token', alice]);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/GALAXY_E_PERMISSION_DENIED: only an admin may add users/);
    const list = await cli(['user', 'list', '--master', master, '-o', 'json'], { cwd: base });
    expect(list.code, list.stderr).toBe(0);
    const users = JSON.parse(list.stdout) as { name: string; kind: string; admin: boolean }[];
    // Agents share no user: each holds its own credential (below).
    expect(users.map((u) => [u.name, u.kind, u.admin])).toEqual([
      ['admin', 'user', true],
      ['alice', 'user', false],
    ]);
    const second = await cli(['user', 'token', 'alice', '--master', master], { cwd: base });
    expect(second.code, second.stderr).toBe(0);
    tokens.add(second.stdout.trim());
    expect((await cli(['user', 'remove', 'alice', '--master', master], { cwd: base })).code).toBe(0);
    const gone = await cli(['agents', '--master', master], {
      env: { GALAXY_TOKEN_FILE: join(workDir, 'admin.token'), GALAXY_TOKEN: second.stdout.trim() },
    });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/GALAXY_E_UNAUTHENTICATED/);
  });

  it("keeps the agent's own credential, given for its join token, in <work-dir>/meta/credential (0600 in 0700)", async () => {
    const meta = join(workDir, 'agent', 'meta');
    expect((await stat(meta)).mode & 0o777).toBe(0o700);
    expect((await stat(join(meta, 'credential'))).mode & 0o777).toBe(0o600);
    const credential = (await readFile(join(meta, 'credential'), 'utf8')).trim();
    expect(credential).toMatch(/^glx_[A-Za-z0-9_-]{43}$/);
    tokens.add(credential);
    const listed = await cli(['agent', 'credentials', '--master', master, '-o', 'json'], { cwd: base });
    expect(listed.code, listed.stderr).toBe(0);
    const agentId = (await readFile(join(meta, 'agent-id'), 'utf8')).trim();
    expect((JSON.parse(listed.stdout) as { credentials: { agentId: string }[] }).credentials).toEqual([
      expect.objectContaining({ agentId }),
    ]);
    // An agent's credential is no user's: the operator API refuses it.
    const asAgent = await cli(['agents', '--master', master, '--token', credential]);
    expect(asAgent.code).toBe(2);
    expect(asAgent.stderr).toMatch(/GALAXY_E_PERMISSION_DENIED: agent agent may not call galaxy\.v1\.Operator/);
  });

  it('gives each pod its own pull token, which the service it runs does not inherit', async () => {
    const found = await podTokens();
    // The AppWorker holds it; the service (server.mjs) it started does not.
    expect(found.some((f) => f.command.includes('appworker'))).toBe(true);
    expect(found.filter((f) => f.command.includes('server.mjs'))).toEqual([]);
    const pods = [...new Set(found.map((f) => f.token))];
    expect(pods).toHaveLength(1);
    for (const token of pods) {
      expect(token).toMatch(/^glx_[A-Za-z0-9_-]{43}$/);
      tokens.add(token);
    }
    // A pod token is no user's: the operator API refuses it.
    const asPod = await cli(['agents', '--master', master, '--token', pods[0] ?? '']);
    expect(asPod.code).toBe(2);
    expect(asPod.stderr).toMatch(/GALAXY_E_UNAUTHENTICATED/);
  });

  it('stops on SIGINT, and no token appears in any output or file the cluster wrote', async () => {
    expect(await up.stop('SIGINT', 20_000)).toBe(0);
    expect(tokens.size).toBeGreaterThanOrEqual(5);
    const texts: [string, string][] = [
      ['galaxy up output', up.lines.items.join('\n')],
      ['CLI output', outputs.join('\n')],
    ];
    for (const file of await filesUnder(workDir)) {
      // The two secrets' own files (0600, checked above).
      if (file === join(workDir, 'admin.token') || file === join(workDir, 'agent', 'meta', 'credential')) continue;
      texts.push([file, await readFile(file, 'latin1')]);
    }
    expect(texts.length).toBeGreaterThan(3);
    const leaks = texts.flatMap(([where, text]) => [...tokens].filter((t) => text.includes(t)).map(() => where));
    // The CLI prints a new token once, on stdout, by design: those are the only allowed places.
    const allowed = new Set(['CLI output']);
    expect(leaks.filter((w) => !allowed.has(w))).toEqual([]);
    // …and the daemons' own output, which holds every trace line, never shows one.
    expect(up.lines.items.some((l) => [...tokens].some((t) => l.includes(t)))).toBe(false);
  });
});
