/**
 * `galaxy up`: a master, an agent, the AppMaster, the batch and MapReduce frameworks in one process, on the
 * embedded default (state in the work directory). Deploys the example service
 * (examples/hello-service), prints a line starting with `ready` once its replicas are healthy,
 * then serves until Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { startAgent } from '../agent/index.js';
import { hasNativeHelper } from '../agent/containerizer/native-helper.js';
import { GalaxyError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { packageRoot } from '../core/paths.js';
import { createPackage } from '../frameworks/appmaster/appworker/package.js';
import { parseJobSpec } from '../frameworks/appmaster/spec/parse.js';
import { runFramework } from '../frameworks/host/host.js';
import { MasterCandidate } from '../master/candidate.js';
import type { JobStatus } from '../proto/gen/galaxy/v1/appmaster.js';
import { appMasterClient, type AppMasterApi } from './operator-client.js';
import { startMetrics } from './metrics-flag.js';
import { renderJob } from './job-view.js';
import { agentJoinToken, bootstrapIdentity, localCoordinatorUrl } from './local-identity.js';

/** Options of `galaxy up`. */
export interface UpOptions {
  readonly listen: string;
  readonly workDir: string;
  /** Replicas of the example service. */
  readonly replicas: number;
  /** The AppMaster API (`galaxy job …` and the AppWorkers). */
  readonly appmasterListen: string;
  /** The master's HTTP/JSON API and web console; default 127.0.0.1:5080. */
  readonly httpListen?: string;
  /** The batch framework API (`galaxy batch …`). */
  readonly batchListen: string;
  /** The MapReduce framework API (`galaxy mr …`); default 127.0.0.1:5053. */
  readonly mapreduceListen?: string;
  readonly resources?: string;
  /** `auto`: cpu,memory,pids containers when root with cgroups, else plain processes. */
  readonly isolation?: string;
  /** More host paths pods may bind (`path[:rw],…`), besides the work dir's `packages`. */
  readonly allowedHostPaths?: string;
  /** The agent lends its regular tasks' unused cpu and mem as revocable resources (`--oversubscribe`). */
  readonly oversubscribe?: boolean;
  /** The agent's named disks (`--disks`, docs/disks.md). */
  readonly disks?: string;
  /** A directory whose mount points are the agent's disks (`--disks-from`, docs/disks.md). */
  readonly disksFrom?: string;
  /** Media of the disks found by `disksFrom` (`--disk-medium`). */
  readonly diskMedium?: string;
  /** Serve every daemon's metrics on one endpoint (one process, one scrape target). */
  readonly metricsListen?: string;
  readonly logLevel?: string;
}

/**
 * What `--isolation auto` means on this machine: containers (sandboxes with cpu, memory and pids
 * isolators) as root with cgroups and the native container helper; plain processes otherwise.
 */
export function autoIsolation(): string {
  const root = process.getuid?.() === 0;
  const cgroups = existsSync('/sys/fs/cgroup/memory/cgroup.procs') || existsSync('/sys/fs/cgroup/cgroup.controllers');
  return root && cgroups && hasNativeHelper() ? 'cpu,memory,pids' : '';
}

/** Runs the single-machine cluster until `stopSignal` resolves. */
export async function runUp(options: UpOptions, stopSignal: Promise<string>): Promise<void> {
  // Daemons log at warn so the terminal shows the story, not the trace; GALAXY_LOG_LEVEL overrides.
  const logLevel = options.logLevel ?? 'warn';
  const workDir = resolve(options.workDir);
  await mkdir(workDir, { recursive: true });
  const coordinator = localCoordinatorUrl(workDir);
  // Every server authenticates: users in the embedded coordinator, the admin token in a 0600 file;
  // the agent joins with a one-use join token and keeps the credential it is given.
  const identity = await bootstrapIdentity(workDir, coordinator);
  const auth = { authenticate: identity.users.authenticate };
  const token = identity.adminToken;
  // The master is a candidate on the embedded coordinator, as `galaxy master --coordinator` is:
  // pools, labels, machine modes, quotas, reservations, grants and the ledger live there.
  const candidate = await MasterCandidate.start({
    listen: options.listen,
    logLevel,
    timings: { allocationIntervalMs: 500 },
    coordinator,
    authenticate: true,
    http: { listen: options.httpListen ?? '127.0.0.1:5080' },
  });
  const master = await candidate.leading;
  // The example's package is a file here: pods see this directory read-only (and nothing else of
  // the work directory, which holds the tokens and the coordinator's state).
  const packages = resolve(workDir, 'packages');
  await mkdir(packages, { recursive: true });
  const agent = await startAgent({
    master: master.address,
    token: await agentJoinToken(coordinator),
    workDir: resolve(workDir, 'agent'),
    resources: options.resources,
    isolation: options.isolation === undefined || options.isolation === 'auto' ? autoIsolation() : options.isolation,
    allowedHostPaths: [await realpath(packages), options.allowedHostPaths ?? ''].filter(Boolean).join(','),
    ...(options.oversubscribe === true ? { oversubscribe: {} } : {}),
    disks: options.disks,
    ...(options.disksFrom === undefined ? {} : { disksFrom: options.disksFrom }),
    ...(options.diskMedium === undefined ? {} : { diskMedium: options.diskMedium }),
    logLevel,
  });
  const how = agent.containerized ? 'Linux containers' : 'plain processes';
  if (!agent.containerized && process.getuid?.() === 0 && !hasNativeHelper())
    console.warn(
      'galaxy: pods are not sandboxed: the container helper was not built (apt-get install gcc libc6-dev linux-libc-dev, then npm run build)',
    );
  console.log(
    `master listening on ${master.address}; agent working in ${resolve(workDir, 'agent')}; pods run as ${how}`,
  );
  console.log(`admin token: ${identity.adminTokenPath}`);
  // The built-in frameworks, each with its API on its own address and the cluster's coordinator.
  const hosted = (name: string, listen: string) =>
    runFramework(name, {
      master: master.address,
      options: { listen, coordinator },
      log: createLogger(name, logLevel),
      token,
      auth,
    });
  const appmaster = await hosted('appmaster', options.appmasterListen);
  const batch = await hosted('batch', options.batchListen);
  const mapreduce = await hosted('mapreduce', options.mapreduceListen ?? '127.0.0.1:5053');
  const metrics = await startMetrics(options.metricsListen, () =>
    [
      candidate.current?.metrics.registry,
      agent.metrics.registry,
      appmaster.framework.metrics,
      batch.framework.metrics,
    ].filter((r) => r !== undefined),
  );
  const shutdown = async (): Promise<void> => {
    await metrics?.close();
    await mapreduce.stop();
    await batch.stop();
    await appmaster.stop();
    await agent.stop();
    await candidate.stop();
    await identity.close();
  };
  const api = appMasterClient(appmaster.framework.endpoint ?? '', token);
  try {
    const deployed = await Promise.race([
      deployExample(api, workDir, options.replicas).then((job) => ({ job })),
      stopSignal.then((signal) => ({ signal })),
      // An agent the master refuses (a stale credential in its work dir) would never run the example.
      agent.refused.then((error) => Promise.reject(error)),
    ]);
    if ('signal' in deployed) return;
    const { job } = deployed;
    const endpoints = job.pods.map((p) => `${p.hostname}:${p.ports.http ?? '?'}`).join(' ');
    console.log(
      `ready: console ${master.httpUrl ?? '?'} (token: ${identity.adminTokenPath}), master ${master.address}, AppMaster ${appmaster.framework.endpoint ?? '?'}, batch ${batch.framework.endpoint ?? '?'}, mapreduce ${mapreduce.framework.endpoint ?? '?'}; ` +
        `job ${job.name} ${job.message} (version ${job.version}) at ${endpoints}. ` +
        `Try \`galaxy job show ${job.name} -a ${appmaster.framework.endpoint ?? ''}\` or \`galaxy resolve ${job.name} --coordinator ${coordinator}\`; Ctrl-C stops.`,
    );
    await stopSignal;
  } finally {
    api.close();
    await shutdown();
  }
}

/** Packs examples/hello-service, submits it (unless a job of that name was recovered) and waits until it is healthy. */
async function deployExample(api: AppMasterApi, workDir: string, replicas: number): Promise<JobStatus> {
  const source = join(packageRoot(), 'examples', 'hello-service');
  const packages = await realpath(join(workDir, 'packages'));
  const built = await createPackage(source, join(packages, 'hello-service-1.0.0.tar.gz'));
  const doc = parseDocument(await readFile(join(source, 'job.yaml'), 'utf8'));
  doc.setIn(['package', 'source'], built.url);
  doc.setIn(['package', 'sha256'], built.sha256);
  // A file:// package is read inside the pod's container: bind its directory there, read-only.
  doc.setIn(['volumes'], [{ kind: 'bind', path: packages, hostPath: packages, readOnly: true }]);
  doc.setIn(['replicas'], replicas);
  const spec = parseJobSpec(doc.toString(), 'examples/hello-service/job.yaml');
  const known = (await api.listJobs({}).then((r) => r.jobs)).some((j) => j.name === spec.name);
  if (!known) await api.submitJob({ specJson: JSON.stringify(spec) });
  const deadline = Date.now() + 180_000;
  for (;;) {
    const job = await api.showJob({ name: spec.name });
    const healthy = job.pods.filter((p) => p.phase === 'running' && p.health === 'healthy').length;
    if (healthy >= replicas && job.pods.length === replicas) return job;
    if (Date.now() > deadline)
      throw new GalaxyError(
        'GALAXY_E_UNAVAILABLE',
        `the example job is not healthy after 180 s:\n${renderJob(job, 'table')}`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
}
