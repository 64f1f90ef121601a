/**
 * How to start an agent: the options of `galaxy agent` (cli/) and of {@link startAgent} in tests.
 */
import type { TlsFiles } from '../core/tls.js';
import type { LogRotation } from '../core/task-logs.js';
import type { AgentPlugin } from './hooks.js';
import type { Launcher } from './launcher.js';
import type { DiscoveryOptions } from './discovery.js';
import type { CpuLendConfig } from './cpu-lend/plan.js';
import type { IdleSource } from './cpu-lend/idle.js';
import type { OversubscriptionOptions } from './oversubscription/controller.js';

/** How to start an agent: the machine it offers (`DiscoveryOptions`: work dir, resources, labels, pool, reservations, host paths) and the rest. */
export interface AgentOptions extends DiscoveryOptions {
  /** The master, `host:port`. */
  readonly master: string;
  /**
   * What the agent first registers with: a join token (exchanged at the first registration for
   * the agent's own credential), or a credential or admin's token. A credential kept in
   * `<work-dir>/meta/credential` is used instead when there is one. None for an open master.
   */
  readonly token?: string;
  /** TLS towards the master: its CA, and this agent's certificate and key for mutual TLS. */
  readonly tls?: TlsFiles;
  readonly logLevel?: string;
  /** Plugins applied after the built-in ones, in order (`galaxy agent --plugin`: see {@link loadAgentPlugins}). */
  readonly plugins?: readonly AgentPlugin[];
  /** The launcher to use instead of the one `isolation` chooses (tests, custom containerizers). */
  readonly launcher?: Launcher;
  /** Isolators for Linux containers, e.g. `cpu,memory,pids`; unset = plain processes. */
  readonly isolation?: string;
  /** This agent's own cgroup root (default derived from the work dir). */
  readonly cgroupRoot?: string;
  /** Host uids of the containers' user namespaces, `FIRST[:COUNT]` (`--uid-range`). */
  readonly uidRange?: string;
  /** Size of the cache of root filesystem images, e.g. `8GiB` (`--image-cache`). */
  readonly imageCache?: string;
  /** How containers' stdout and stderr are rotated (`--log-max-size`, `--log-max-files`; default 10 MiB × 5). */
  readonly logRotation?: LogRotation;
  /** Containers set up at once (`--launch-concurrency`; default twice the cores, see agent/containerizer). */
  readonly launchConcurrency?: number;
  /** How long a finished task's sandbox is kept before it is deleted (default one hour). */
  readonly sandboxGcDelayMs?: number;
  /**
   * Lending idle cpu to soft-limited containers (`--cpu-lend-*`; defaults in `agent/cpu-lend/plan.ts`),
   * and where idleness is measured (default `/proc/stat`; tests on a shared machine measure their own).
   */
  readonly cpuLend?: Partial<CpuLendConfig> & { readonly idle?: IdleSource };
  /**
   * Estimate revocable resources and evict tasks on them when needed (`--oversubscribe`,
   * docs/resources.md); containers only (plain processes are not measured). Unset: off.
   */
  readonly oversubscribe?: OversubscriptionOptions;
  /** Status update retry: first delay and ceiling (ms). */
  readonly statusRetry?: { readonly initialMs: number; readonly maxMs: number };
}
