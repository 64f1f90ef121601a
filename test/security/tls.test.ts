/**
 * TLS with throwaway CAs (openssl), against a real `galaxy master` given a certificate, a key and
 * a CA: it requires client certificates signed by that CA (mutual TLS). A plaintext CLI, a CLI
 * without a certificate and a CLI whose certificate another CA signed are all refused before any
 * call is made; the CLI with its certificate, an agent presenting its own (joined with a join
 * token over TLS) and a framework written with the SDK all work over TLS, and the framework's task
 * runs on that agent.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsFiles } from '../../core/tls.js';
import { eventually } from '../helpers/async-queue.js';
import { issueCertificate, makeCa } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { masterJoinToken, writeJoinToken } from '../helpers/identity.js';
import { galaxy, killWithEnv, startMasterProcess, stopAll, type MasterProcess } from '../helpers/processes.js';

const run = promisify(execFile);
const SLEEPERS = fileURLToPath(new URL('../../dist/examples/frameworks/sleepers.js', import.meta.url));

let dir = '';
let master: MasterProcess;
let client: Required<TlsFiles>;
let agentCert: Required<TlsFiles>;
let stranger: Required<TlsFiles>;

/** `--tls-*` flags for `files`. */
const flags = (files: TlsFiles): string[] =>
  Object.entries({ '--tls-cert': files.cert, '--tls-key': files.key, '--tls-ca': files.ca }).flatMap(([flag, file]) =>
    file === undefined ? [] : [flag, file],
  );

/** `galaxy agents -o json` with `files`, as the admin. */
const agents = (files: TlsFiles) =>
  runCli([...flags(files), 'agents', '--master', master.address, '-o', 'json'], {
    env: { GALAXY_TOKEN: master.adminToken },
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-sec-tls-'));
  const ca = makeCa(dir, 'galaxy-ca');
  const server = issueCertificate(ca, 'master');
  client = issueCertificate(ca, 'cli');
  agentCert = issueCertificate(ca, 'agent');
  stranger = issueCertificate(makeCa(dir, 'other-ca'), 'stranger');
  master = await startMasterProcess(join(dir, 'master'), flags(server));
}, 30_000);

afterAll(async () => {
  await stopAll();
  killWithEnv(`GALAXY_SANDBOX=${dir}`);
  await rm(dir, { recursive: true, force: true });
});

describe('a master with --tls-cert, --tls-key and --tls-ca', { timeout: 60_000 }, () => {
  it('refuses a plaintext client, one without a certificate and one whose certificate another CA signed', async () => {
    for (const files of [{}, { ca: client.ca }, { ...stranger, ca: client.ca }]) {
      const refused = await agents(files);
      expect(refused.code, JSON.stringify(files)).toBe(3);
      expect(refused.stderr).toMatch(/GALAXY_E_UNAVAILABLE: the master at .* cannot be reached/);
      expect(refused.stderr).toMatch(/If it serves TLS: --tls-ca, and --tls-cert\/--tls-key when it asks for client/);
    }
  });

  it('answers the CLI over mutual TLS', async () => {
    const listed = await agents(client);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it("admits an agent over mutual TLS, and runs a framework's task on it over TLS", async () => {
    const token = await writeJoinToken(join(dir, 'agent.join'), await masterJoinToken({ ...master, tls: client }));
    galaxy([
      ...flags(agentCert),
      'agent',
      '--master',
      master.address,
      '--work-dir',
      join(dir, 'agent'),
      '--resources',
      'cpus:1;mem:1GiB;disk:1GiB',
      '--join-token-file',
      token,
    ]);
    await eventually(
      async () => {
        const listed = await agents(client);
        return listed.code === 0 && (JSON.parse(listed.stdout) as { active: boolean }[]).some((a) => a.active);
      },
      20_000,
      'the agent to register over TLS',
    );
    const env: NodeJS.ProcessEnv = { ...process.env, GALAXY_LOG_LEVEL: 'silent', GALAXY_TOKEN: master.adminToken };
    const { stdout } = await run(
      process.execPath,
      [SLEEPERS, '--master', master.address, '--count', '1', '--command', 'true', ...flags(client)],
      { env, timeout: 30_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ finished: 1, failed: 0, killed: 0, lost: 0 });
  });
});
