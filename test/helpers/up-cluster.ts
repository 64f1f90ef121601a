/**
 * A real cluster for attack tests: `galaxy up` as its own process (a master, an agent running
 * pods as plain processes, the AppMaster, batch and MapReduce, all on real gRPC, every server
 * authenticating), called through the CLI's own gRPC clients, or through the `galaxy` CLI run as
 * a separate process, as a user would.
 * Users are made through the master with the admin token `galaxy up` wrote; stopping kills the
 * cluster and every pod it started and removes its directory, even after a failure.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Batch } from '../../cli/batch-client.js';
import { operatorClient, type Operator, appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import { GALAXY_BIN, galaxy, killWithEnv, type GalaxyProcess } from './processes.js';

const run = promisify(execFile);

/** What a CLI call did. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI's own gRPC clients, calling as one user. */
export interface UpClients {
  readonly operator: Operator;
  readonly appmaster: AppMasterApi;
  readonly batch: Batch;
}

/** A running `galaxy up` cluster. */
export interface UpCluster {
  /** The cluster's work directory (its state, its agent's sandboxes). */
  readonly workDir: string;
  /** Addresses from the ready line. */
  readonly master: string;
  readonly appmaster: string;
  readonly batch: string;
  /** The web console's and HTTP API's URL (`http://host:port/`). */
  readonly console: string;
  /** The embedded coordinator, `local:<workDir>/coord`. */
  readonly coordinator: string;
  readonly adminToken: string;
  readonly up: GalaxyProcess;
  /** Runs `galaxy …args` as the holder of `token`; resolves with its exit code and output. */
  cli(token: string, args: string[]): Promise<CliResult>;
  /** gRPC clients of the master, the AppMaster and batch calling with `token` (closed by `stop`). */
  clients(token: string): UpClients;
  /** Makes user `name` (not an admin) and grants it `authorities` in `pool`; resolves with its token. */
  addUser(name: string, pool: string, authorities: string[]): Promise<string>;
  /** Stops the cluster, kills what it left, removes its directory. */
  stop(): Promise<void>;
}

/** Starts `galaxy up` with one example replica, its agent's ports in `ports` (e.g. `[35300-35349]`). */
export async function startUpCluster(name: string, ports: string): Promise<UpCluster> {
  const base = await mkdtemp(join(tmpdir(), `galaxy-${name}-`));
  const workDir = join(base, '.galaxy');
  const up = galaxy(
    [
      'up',
      '--listen',
      '127.0.0.1:0',
      '--appmaster-listen',
      '127.0.0.1:0',
      '--http-listen',
      '127.0.0.1:0',
      '--batch-listen',
      '127.0.0.1:0',
      '--mapreduce-listen',
      '127.0.0.1:0',
      '--work-dir',
      workDir,
      '--replicas',
      '1',
      '--isolation',
      '',
      '--resources',
      `cpus:4;mem:4GiB;disk:4GiB;ports:${ports}`,
    ],
    { GALAXY_LOG_LEVEL: 'warn' },
  );
  const opened: UpClients[] = [];
  const stop = async (): Promise<void> => {
    for (const c of opened.splice(0)) {
      c.operator.close();
      c.appmaster.close();
      c.batch.close();
    }
    await up.stop('SIGINT', 15_000);
    killWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`);
    await rm(base, { recursive: true, force: true });
  };
  try {
    const ready = await up.lines.waitFor((l) => l.startsWith('ready'), 90_000, 'the ready line of galaxy up');
    const address = (what: string) => new RegExp(`${what} (\\S+),`).exec(ready)?.[1] ?? '';
    const adminToken = (await readFile(join(workDir, 'admin.token'), 'utf8')).trim();
    const cli = async (token: string, args: string[]): Promise<CliResult> => {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', GALAXY_LOG_LEVEL: 'warn', GALAXY_TOKEN: token };
      delete env.GALAXY_TOKEN_FILE;
      try {
        const { stdout, stderr } = await run(process.execPath, [GALAXY_BIN, ...args], {
          cwd: base,
          env,
          timeout: 30_000,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: unknown; stdout?: string; stderr?: string };
        return {
          code: typeof failed.code === 'number' ? failed.code : -1,
          stdout: failed.stdout ?? '',
          stderr: failed.stderr ?? '',
        };
      }
    };
    const master = address('master');
    const cluster: UpCluster = {
      workDir,
      master,
      appmaster: address('AppMaster'),
      batch: address('batch'),
      console: /console (\S+) /.exec(ready)?.[1] ?? '',
      coordinator: `local:${join(workDir, 'coord')}`,
      adminToken,
      up,
      cli,
      clients: (token) => {
        const made = {
          operator: operatorClient(master, token),
          appmaster: appMasterClient(cluster.appmaster, token),
          batch: new Batch(cluster.batch, token),
        };
        opened.push(made);
        return made;
      },
      addUser: async (user, pool, authorities) => {
        const added = await cli(adminToken, ['user', 'add', user, '--master', master]);
        if (added.code !== 0) throw new Error(`user add ${user}: ${added.stderr}`);
        const granted = await cli(adminToken, ['grant', user, pool, ...authorities, '--master', master]);
        if (granted.code !== 0) throw new Error(`grant ${user}: ${granted.stderr}`);
        return added.stdout.trim();
      },
      stop,
    };
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}
