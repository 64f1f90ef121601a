/**
 * `galaxy master`, `galaxy agent` and `galaxy up`: the long-running processes.
 */
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { MasterCandidate } from '../master/candidate.js';
import { loadAllocator } from '../allocators/index.js';
import { startMaster } from '../master/master.js';
import { loadAgentPlugins, startAgent } from '../agent/index.js';
import { addDiskFlags } from './disk-flags.js';
import { oversubscribeOptions, oversubscriptionFromFlags, type OversubscribeFlags } from './oversubscribe-flags.js';
import { loadMasterPlugins } from '../master/plugins/index.js';
import { runUp } from './up.js';
import { METRICS_OPTION, startMetrics } from './metrics-flag.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';
import { readTokenFile } from '../core/auth/client.js';
import { mkdir } from 'node:fs/promises';
import { bootstrapIdentity, localCoordinatorUrl, type LocalIdentity } from './local-identity.js';
import { parseMasterLimits } from './limits.js';
import { parseLogRotation } from '../core/task-logs.js';
import { addCpuLendFlags, cpuLendFromFlags, type CpuLendFlags } from './cpu-lend-flags.js';
import { parseCount } from './numbers.js';

/** Parses a non-negative number of seconds into milliseconds. */
export function parseSeconds(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag} must be a number of seconds, got "${value}"`);
  return Math.round(n * 1000);
}

/** Resolves once SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
  });
}

interface MasterFlags {
  listen: string;
  workDir: string;
  insecureNoAuth?: boolean;
  allocator: string;
  allocationInterval: string;
  offerTimeout: string;
  agentPingInterval: string;
  agentReregisterTimeout: string;
  zk?: string;
  coordinator?: string;
  logLevel?: string;
  limit?: string[];
  plugin: string[];
  metricsListen?: string;
  httpListen?: string;
  appmaster?: string;
}

interface AgentFlags extends CpuLendFlags, OversubscribeFlags {
  master: string;
  workDir: string;
  resources?: string;
  attributes?: string;
  pool?: string;
  hostname?: string;
  reserve?: string;
  isolation?: string;
  cgroupRoot?: string;
  allowedHostPaths?: string;
  disks?: string;
  disksFrom?: string;
  diskMedium?: string;
  uidRange?: string;
  imageCache?: string;
  logMaxSize?: string;
  logMaxFiles?: string;
  launchConcurrency?: string;
  logLevel?: string;
  joinTokenFile?: string;
  plugin: string[];
  metricsListen?: string;
}

/** Collects a repeatable option's values in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** What `--insecure-no-auth` prints on every start. */
export function insecureWarning(what: string, address: string): string {
  return `WARNING: --insecure-no-auth: ${what} at ${address} authenticates no one; anybody who reaches it acts as an admin`;
}

/** Adds the daemon commands to the program. */
export function addDaemonCommands(program: Command, defaultMaster: string): void {
  program
    .command('master')
    .description('run a master')
    .option('-l, --listen <host:port>', 'address to serve on', '127.0.0.1:5050')
    .option('--allocator <name|path>', 'drf, round-robin (or first-fit), or a module path', 'drf')
    .option('--allocation-interval <s>', 'seconds between allocation passes', '1')
    .option('--offer-timeout <s>', 'rescind unanswered offers after this (0 = never)', '30')
    .option('--agent-ping-interval <s>', 'seconds between pings to each agent', '5')
    .option('--agent-reregister-timeout <s>', 'a disconnected agent is removed after this', '30')
    .option(
      '--zk <hosts/chroot>',
      'run with standbys, electing the leader through ZooKeeper, e.g. 10.0.0.1:2181,10.0.0.2:2181/galaxy',
    )
    .option('--coordinator <url>', 'run with standbys through this coordinator (zk://… or local:/dir)')
    .option(
      '-w, --work-dir <dir>',
      'without --coordinator: the state of this master (users and agents in <dir>/coord, the admin token in <dir>/admin.token)',
      '/var/lib/galaxy',
    )
    .option('--insecure-no-auth', 'authenticate no one: every caller is an admin (a warning is printed on every start)')
    .option(
      '--http-listen <host:port>',
      'also serve the HTTP/JSON API (OpenAPI at /api/openapi.json) and the web console here, with the same tokens and TLS',
    )
    .option(
      '--appmaster <host:port|url>',
      "where the HTTP API's job routes find the AppMaster (default: the leader elected in --coordinator)",
    )
    .option(
      '--limit <name=value...>',
      'a bound of the master or its server (docs/security.md), e.g. frameworksPerPrincipal=64 tasksPerAccept=1000 ' +
        'streamQueueBytes=8MiB recordRetentionMs=24h maxRecords=100000 maxConnections=4096 maxMessageBytes=4MiB ' +
        'maxConcurrentStreams=128 maxConnectionIdleMs=5m keepaliveTimeMs=30s keepaliveTimeoutMs=10s',
    )
    .option(
      '--plugin <name|path>',
      'a master plugin to apply after the built-in ones (docs/writing-plugins.md); repeat for more',
      collect,
      [],
    )
    .option(...METRICS_OPTION)
    .action(async (flags: MasterFlags) => {
      const options = {
        listen: flags.listen,
        limits: parseMasterLimits(flags.limit ?? []),
        allocator: flags.allocator,
        logLevel: program.opts<{ logLevel?: string }>().logLevel,
        timings: {
          allocationIntervalMs: parseSeconds(flags.allocationInterval, '--allocation-interval'),
          offerTimeoutMs: parseSeconds(flags.offerTimeout, '--offer-timeout'),
          agentPingIntervalMs: parseSeconds(flags.agentPingInterval, '--agent-ping-interval'),
          agentReregisterTimeoutMs: parseSeconds(flags.agentReregisterTimeout, '--agent-reregister-timeout'),
        },
        tls: cliTls(),
        ...(flags.httpListen
          ? { http: { listen: flags.httpListen, ...(flags.appmaster ? { appmaster: flags.appmaster } : {}) } }
          : {}),
      };
      const named = flags.zk ? `zk://${flags.zk}` : flags.coordinator;
      const open = flags.insecureNoAuth === true;
      // A bad --allocator or --plugin is refused before anything is written (a candidate loads the allocator only once elected).
      await loadAllocator(options.allocator, {});
      const plugins = await loadMasterPlugins(flags.plugin);
      if (named === undefined && open) {
        const master = await startMaster({ ...options, plugins, insecureNoAuth: true });
        console.error(insecureWarning('the master', master.address));
        const metrics = await startMetrics(flags.metricsListen, [master.metrics.registry]);
        if (master.httpUrl) console.log(`console and HTTP API at ${master.httpUrl}`);
        await untilSignal();
        await metrics?.close();
        await master.stop();
        return;
      }
      // Without --coordinator the master still authenticates: its users and agents live in a
      // local coordinator in its work directory, whose admin token it writes (as galaxy up does).
      let identity: LocalIdentity | undefined;
      if (named === undefined) {
        await mkdir(flags.workDir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
          throw new GalaxyError(
            'GALAXY_E_INVALID_ARGUMENT',
            `cannot use --work-dir ${flags.workDir}: ${(error as Error).message}; pass --work-dir <a directory you can write>`,
          );
        });
        identity = await bootstrapIdentity(flags.workDir, localCoordinatorUrl(flags.workDir), { keep: true });
        console.log(`admin token: ${identity.adminTokenPath}`);
      }
      const coordinator = named ?? localCoordinatorUrl(flags.workDir);
      const candidate = await MasterCandidate.start({
        ...options,
        plugins,
        coordinator,
        authenticate: !open,
        insecureNoAuth: open,
        // A leader whose ZooKeeper session is over exits at once (code 1; its election helper
        // SIGKILLs it if it has not within 250 ms, even mid-way through a busy moment of its main
        // thread): no other master can lead before then (docs/operations.md).
        fence: 'exit',
      });
      if (open) console.error(insecureWarning('the master', candidate.address));
      // A standby serves its process metrics; the master's appear once it leads.
      const metrics = await startMetrics(flags.metricsListen, () =>
        candidate.current ? [candidate.current.metrics.registry] : [],
      );
      console.log(`master ${candidate.address} contending for leadership through ${coordinator}`);
      candidate.leading.then(
        (master) => {
          console.log(
            `master ${candidate.address} leads${master.httpUrl ? `; console and HTTP API at ${master.httpUrl}` : ''}`,
          );
        },
        () => undefined, // a standby whose session ended: `lost` resolves and the process exits below
      );
      const outcome = await Promise.race([untilSignal(), candidate.lost.then(() => 'lost' as const)]);
      await metrics?.close();
      await candidate.stop();
      await identity?.close();
      // A master that lost leadership exits, as Mesos' does; its supervisor starts it again as a standby.
      if (outcome === 'lost') process.exit(1);
    });
  const agentCommand = program
    .command('agent')
    .description('run an agent on this machine')
    .option('-m, --master <host:port>', 'the master', defaultMaster)
    .option('-w, --work-dir <dir>', 'where sandboxes and checkpoints live', '/var/lib/galaxy/agent')
    .option('--resources <spec>', 'override discovered resources, e.g. "cpus:2;mem:4GiB;ports:[31000-31999]"')
    .option('--attributes <spec>', 'labels, e.g. "rack:r1;zone:z1"')
    .option('--pool <name>', 'the pool this agent belongs to', 'default')
    .option('--hostname <name>', 'hostname to report')
    .option('--reserve <spec>', 'static reservations for roles, e.g. "eng:cpus=2,mem=4GiB;ops:cpus=1"')
    .option(
      '--isolation <list>',
      'run tasks in Linux containers with these isolators, e.g. cpu,memory,pids (built-in names or module paths)',
    )
    .option('--cgroup-root <path>', "this agent's own cgroup root (default derived from --work-dir)")
    .option(
      '--join-token-file <file>',
      'a join token (galaxy agent join-token) for the first registration; the agent then keeps its own credential in <work-dir>/meta/credential',
    )
    .option(
      '--allowed-host-paths <list>',
      'host directories bind volumes may come from, read-only unless marked :rw, e.g. "/data,/srv/cache:rw" (never /, /etc, /proc, /sys, /dev or the work dir)',
    )
    .option(
      '--uid-range <first[:count]>',
      "host uids of the containers' user namespaces: COUNT blocks of 65536 from FIRST (default 1000000:16384)",
    )
    .option(
      '--plugin <name|path>',
      'an agent plugin to apply after the built-in ones (docs/writing-plugins.md); repeat for more',
      collect,
      [],
    )
    .option(
      '--image-cache <size>',
      'size of the cache of root filesystem images (container.rootfs), e.g. 8GiB (default)',
    )
    .option('--log-max-size <size>', "a task's stdout or stderr is rotated past this size (default 10MiB)")
    .option('--log-max-files <n>', 'files kept per stream, the current one included (default 5)')
    .option(
      '--launch-concurrency <n>',
      'containers set up at once; a burst of launches waits its turn (default twice the cores)',
    )
    .option(...METRICS_OPTION);
  oversubscribeOptions(addDiskFlags(agentCommand)).action(async (flags: AgentFlags) => {
    const plugins = await loadAgentPlugins(flags.plugin);
    const oversubscribe = oversubscriptionFromFlags(flags);
    const agent = await startAgent({
      ...(oversubscribe ? { oversubscribe } : {}),
      plugins,
      master: flags.master,
      workDir: flags.workDir,
      resources: flags.resources,
      attributes: flags.attributes,
      pool: flags.pool,
      hostname: flags.hostname,
      reserve: flags.reserve,
      isolation: flags.isolation,
      cgroupRoot: flags.cgroupRoot,
      allowedHostPaths: flags.allowedHostPaths,
      disks: flags.disks,
      disksFrom: flags.disksFrom,
      diskMedium: flags.diskMedium,
      uidRange: flags.uidRange,
      imageCache: flags.imageCache,
      logRotation: parseLogRotation(flags.logMaxSize, flags.logMaxFiles),
      cpuLend: cpuLendFromFlags(flags),
      ...(flags.launchConcurrency === undefined
        ? {}
        : { launchConcurrency: parseCount(flags.launchConcurrency, '--launch-concurrency', 1024, 1) }),
      logLevel: program.opts<{ logLevel?: string }>().logLevel,
      token: flags.joinTokenFile === undefined ? cliToken() : readTokenFile(flags.joinTokenFile),
      tls: cliTls(),
    });
    const metrics = await startMetrics(flags.metricsListen, [agent.metrics.registry]);
    const outcome = await Promise.race([
      untilSignal(),
      agent.refused,
      agent.shutDown.then((requestedBy) => ({ requestedBy })),
    ]);
    await metrics?.close();
    // Refused for good (revoked, expired, not its own id): exit with the reason. Its tasks run on,
    // checkpointed, as after kill -9: once it has a valid credential it re-attaches to them.
    if (outcome instanceof GalaxyError) throw outcome;
    if (typeof outcome === 'object') {
      console.log(`agent shut down as ${outcome.requestedBy} asked: every task was killed`);
      return;
    }
    // A stop signal (systemctl stop or restart, an upgrade) leaves the containers running.
    const how = await agent.detach();
    console.log(
      how === 'detached'
        ? `agent stopped (${outcome}); its containers run on, and the next agent on ${flags.workDir} re-attaches to them (galaxy agent shutdown kills them)`
        : `agent stopped (${outcome}) with its tasks: plain processes cannot be re-attached`,
    );
    // Re-attached containers are polled and launched ones are children: nothing of that may hold the process.
    process.exit(0);
  });
  addCpuLendFlags(agentCommand);
  const upCommand = program
    .command('up')
    .description(
      'a whole cluster on this machine: master + agent + AppMaster + batch + mapreduce, deploying the example service; state in --work-dir',
    )
    .option('-l, --listen <host:port>', 'master address', '127.0.0.1:5050')
    .option('-w, --work-dir <dir>', 'state of the embedded cluster', '.galaxy')
    .option('--replicas <n>', 'replicas of the example service', '3')
    .option('--appmaster-listen <host:port>', 'the AppMaster API', '127.0.0.1:5060')
    .option('--http-listen <host:port>', "the master's HTTP/JSON API and web console", '127.0.0.1:5080')
    .option('--batch-listen <host:port>', 'the batch framework API', '127.0.0.1:5052')
    .option('--mapreduce-listen <host:port>', 'the MapReduce framework API (galaxy mr)', '127.0.0.1:5053')
    .option('--resources <spec>', "override the agent's discovered resources")
    .option(
      '--isolation <list>',
      'isolators for containers; "auto" = cpu,memory,pids when root with cgroups, "" = plain processes',
      'auto',
    )
    .option(
      '--allowed-host-paths <list>',
      "more host directories pods may bind (e.g. a MapReduce input), read-only unless :rw; the work dir's packages/ always",
    )
    .option(
      '--metrics-listen <host:port>',
      'serve the metrics of every daemon of the cluster (master, agent, AppMaster, batch) at http://<host:port>/metrics',
    )
    .option(
      '--oversubscribe',
      "lend the example service's unused cpu and mem to batch jobs as revocable resources (off by default: see docs/resources.md)",
    );
  addDiskFlags(upCommand).action(
    async (flags: {
      listen: string;
      workDir: string;
      replicas: string;
      appmasterListen: string;
      httpListen: string;
      batchListen: string;
      mapreduceListen: string;
      resources?: string;
      isolation: string;
      allowedHostPaths?: string;
      disks?: string;
      disksFrom?: string;
      diskMedium?: string;
      metricsListen?: string;
      oversubscribe?: boolean;
    }) => {
      const replicas = Number(flags.replicas);
      if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 100) {
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `--replicas must be a whole number from 1 to 100, got "${flags.replicas}"`,
        );
      }
      await runUp(
        {
          listen: flags.listen,
          workDir: flags.workDir,
          replicas,
          appmasterListen: flags.appmasterListen,
          httpListen: flags.httpListen,
          batchListen: flags.batchListen,
          mapreduceListen: flags.mapreduceListen,
          resources: flags.resources,
          isolation: flags.isolation,
          allowedHostPaths: flags.allowedHostPaths,
          ...(flags.oversubscribe === true ? { oversubscribe: true } : {}),
          disks: flags.disks,
          disksFrom: flags.disksFrom,
          diskMedium: flags.diskMedium,
          metricsListen: flags.metricsListen,
          logLevel: program.opts<{ logLevel?: string }>().logLevel,
        },
        untilSignal(),
      );
    },
  );
}
