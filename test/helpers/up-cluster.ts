/**
 * A real cluster for attack tests: `galaxy up` as its own process (a master, an agent running
 * pods as plain processes, the AppMaster, batch and MapReduce, all on real gRPC, every server
 * authenticating), called through the CLI's own gRPC clients, or through the `galaxy` CLI run as
 * a separate process, as a user would.
 * Users are made through the master with the admin token `galaxy up` wrote; stopping kills the
 * cluster and every pod it started and removes its directory, even after a failure.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Batch } from '../../cli/batch-client.js';
import { operatorClient, type Operator, appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import { runCli, type CliResult } from './cli.js';
import { upArgs } from './up-args.js';
import { galaxy, killWithEnv, type GalaxyProcess } from './processes.js';

export type { CliResult } from './cli.js';

/** The CLI's own gRPC clients, calling as one user. */
export interface UpClients {
  readonly operator: Operator;
  readonly appmaster: AppMasterApi;
  readonly batch: Batch;
}

/** A running `galaxy up` cluster. */
export interface UpCluster {
  /** A scratch directory holding `workDir`, removed with the cluster; the CLI runs in it. */
  readonly base: string;
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

/** The authorities a job owner holds in the security tests: their own jobs and containers, nothing more. */
export const JOB_OWNER_VERBS = [
  'job:create',
  'job:update',
  'job:remove',
  'job:list',
  'container:create',
  'container:remove',
  'container:list',
];

/** How a cluster runs. */
export interface UpOptions {
  /** `--isolation`: '' (the default) runs pods as plain processes; `auto` in Linux containers. */
  readonly isolation?: string;
  /** More arguments of `galaxy up` (e.g. `--metrics-listen 127.0.0.1:0`). */
  readonly extraArgs?: readonly string[];
}

/** Starts `galaxy up` with one example replica, its agent's ports in `ports` (e.g. `[22300-22349]`). */
export async function startUpCluster(name: string, ports: string, options: UpOptions = {}): Promise<UpCluster> {
  const base = await mkdtemp(join(tmpdir(), `galaxy-${name}-`));
  const workDir = join(base, '.galaxy');
  const up = galaxy(
    upArgs(workDir, 1, [
      ...['--isolation', options.isolation ?? ''],
      ...['--resources', `cpus:4;mem:4GiB;disk:4GiB;ports:${ports}`],
      ...(options.extraArgs ?? []),
    ]),
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
    const cli = (token: string, args: string[]): Promise<CliResult> =>
      runCli(args, { cwd: base, env: { GALAXY_TOKEN: token }, timeoutMs: 30_000 });
    const master = address('master');
    const cluster: UpCluster = {
      base,
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
