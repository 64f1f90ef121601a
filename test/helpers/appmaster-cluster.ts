/**
 * The cluster of the AppMaster's end-to-end tests (test/e2e/appmaster-*.test.ts): a deploy cluster
 * (a real master, an agent running pods in Linux containers, the AppMaster with real AppWorkers;
 * see deploy-cluster.ts) with two data packages (`first words`, `second words`) beside the
 * hello-service packages, a client of its coordinator (naming and the AppMaster's store), and the
 * hello job as those tests deploy it: 3 replicas, an HTTP health check, a reload command, a data
 * package, a service in naming, one pod a step with a breakpoint after the first, automatic
 * rollback, restarts with backoff. One cluster per test file ({@link useAppMasterCluster}), each
 * with its own job name, port range and cgroup root, since two files may run at once.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { openCoordinator } from '../../core/coordinator/index.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { createPackage } from '../../frameworks/appmaster/appworker/package.js';
import type { JobStatus, PodStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { startDeployCluster, type DeployCluster } from './deploy-cluster.js';

/** The texts of the data packages, each a name of `helloSpec`'s `data`. */
const CONTENTS = ['first words', 'second words'] as const;

/** A deploy cluster running the hello job `job`. */
export interface AppMasterCluster extends DeployCluster {
  /** The hello job's name, unique to the test file. */
  readonly job: string;
  /** A client of the cluster's coordinator: naming and the AppMaster's store. */
  readonly store: Coordinator;
  /**
   * The hello job at `version` (1.0.0, 2.0.0, 3.0.0) with the data package `data` (`first words`,
   * `second words`); `extra` overrides fields.
   */
  helloSpec(version: string, data: string, extra?: Record<string, unknown>): string;
  /** Waits until the hello job has exactly `n` pods, all healthy, no update running; says what it saw if not. */
  helloSettled(n: number, timeoutMs?: number): Promise<JobStatus>;
  /** The hello job as it stands and its first pod; throws when it has none. */
  helloFirstPod(): Promise<{ job: JobStatus; pod: PodStatus }>;
}

/** The update settings without a breakpoint: one pod a step, no pause between steps. */
export const NO_BREAKPOINT = { step: 1, intervalS: 0, stopTimeoutS: 3, maxFailures: 1, autoRollback: true };

/** The job's pods that run and pass their health check. */
export const healthyPods = (job: JobStatus) => job.pods.filter((p) => p.phase === 'running' && p.health === 'healthy');

/**
 * Starts the cluster: `label` names its cgroup root and directory (and the hello job,
 * `hello-<label>`), `ports` is the agent's port range (e.g. `[28000-28299]`), distinct per file.
 * `stop` also closes the coordinator client and returns the processes it had to kill (none, after
 * a clean run).
 */
export async function startAppMasterCluster(label: string, ports: string): Promise<AppMasterCluster> {
  const cluster = await startDeployCluster(`appmaster-${label}`, ports);
  const packagesDir = join(cluster.workDir, 'packages');
  const contents: Record<string, { url: string; sha256: string }> = {};
  for (const text of CONTENTS) {
    const word = text.split(' ')[0] ?? '';
    const dir = join(cluster.workDir, `content-${word}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'message.txt'), `${text}\n`);
    contents[text] = await createPackage(dir, join(packagesDir, `content-${word}.tar.gz`));
  }
  const store = await openCoordinator(cluster.coordinator);
  const job = `hello-${label}`;
  const stopCluster = cluster.stop.bind(cluster);
  return Object.assign(cluster, {
    job,
    store,
    helloSpec: (version: string, data: string, extra: Record<string, unknown> = {}) => {
      const content = contents[data];
      if (!content) throw new Error(`no data package ${data}`);
      return cluster.spec(job, version, 3, {
        resources: { cpu: { millicores: 200, excess: true }, memory: { hard: '256Mi' } },
        commands: { start: 'exec node server.mjs', reload: 'echo reloaded >> reloads.log' },
        health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 3, failures: 2 },
        data: [{ name: 'content', source: content.url, version: data, sha256: content.sha256, dest: 'data/content' }],
        services: [{ name: 'web', port: 'http' }],
        deploy: {
          step: 1,
          intervalS: 1,
          breakpoint: 1,
          stopTimeoutS: 3,
          maxFailures: 1,
          autoRollback: true,
          deployTimeoutS: 60,
        },
        failure: { backoffS: 2, maxBackoffS: 10, blacklistAfter: 5 },
        ...extra,
      });
    },
    helloSettled: (n: number, timeoutMs = 90_000) => cluster.settled(job, n, timeoutMs),
    helloFirstPod: async () => {
      const status = await cluster.api.showJob({ name: job });
      const pod = status.pods[0];
      if (!pod) throw new Error(`${job} has no pod`);
      return { job: status, pod };
    },
    stop: async () => {
      await store.close();
      return stopCluster();
    },
  });
}

/**
 * Starts the cluster before the file's tests and stops it after them, expecting that it had to
 * kill nothing; with `deploy`, also submits the spec it returns and waits until its pods are
 * healthy. Returns the cluster (once `beforeAll` has run).
 */
export function useAppMasterCluster(
  label: string,
  ports: string,
  deploy?: (cluster: AppMasterCluster) => string,
): () => AppMasterCluster {
  let cluster: AppMasterCluster | undefined;
  beforeAll(async () => {
    cluster = await startAppMasterCluster(label, ports);
    if (!deploy) return;
    const specJson = deploy(cluster);
    await cluster.api.submitJob({ specJson });
    await cluster.helloSettled((JSON.parse(specJson) as { replicas: number }).replicas);
  }, 150_000);
  afterAll(async () => {
    expect(await cluster?.stop()).toEqual([]);
  }, 60_000);
  return () => {
    if (!cluster) throw new Error('the cluster is not started');
    return cluster;
  };
}
