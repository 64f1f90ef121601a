/**
 * The isolator plugin interface, after Mesos' (`include/mesos/slave/isolator.hpp`): each isolator
 * holds containers to one kind of resource. The containerizer calls `prepare` in order before the
 * first process starts, `isolate` in parallel once it has a pid, `limitation` while it runs and
 * once at exit, `usage` on request, and `cleanup` in reverse order after it is gone.
 */
import type { Limits, ResourceUsage, Resources, Volume } from '../proto/gen/galaxy/v1/common.js';
import { builtinMeta } from '../core/plugin-loader.js';
import type { CgroupDriver, Controller } from './cgroup-driver.js';

/** One container as isolators see it. */
export interface Container {
  /** Unique on the agent; also the last segment of its cgroup path. */
  readonly id: string;
  /** Cgroup path relative to each hierarchy's root, e.g. `galaxy-a1/c-42`. */
  readonly cgroup: string;
  readonly sandbox: string;
  readonly resources: Resources;
  readonly limits: Limits;
  readonly volumes: readonly Volume[];
  readonly driver: CgroupDriver;
  /** Anything an isolator needs to remember between calls (e.g. a network namespace name). */
  readonly state: Map<string, unknown>;
  /**
   * Commands the container's helper is started through, outermost first (each must exec the
   * rest of its arguments); for custom isolators. They run on the host, before the container
   * joins its cgroups.
   */
  readonly wrappers: string[][];
  /** Environment variables isolators add for the task (e.g. its address). */
  readonly env: Record<string, string>;
  /**
   * Mounts isolators add in `prepare` (volumes): made inside the container's own root, never on
   * the host. The launcher refuses a bind whose source is not under the agent's allowed host paths.
   */
  readonly mounts: ContainerMount[];
  /** A network namespace to start the container in (e.g. `/run/netns/x`), set by a network isolator. */
  netns?: string;
}

/** A mount an isolator adds to a container (a volume), at a path in the container's root. */
export interface ContainerMount {
  readonly kind: 'bind' | 'tmpfs';
  /** Where it appears in the container (absolute). */
  readonly target: string;
  /** bind: the host path (made real and checked by the launcher). */
  readonly source?: string;
  readonly readOnly: boolean;
  /** tmpfs: its size in bytes. */
  readonly sizeBytes?: number;
  /**
   * bind: a volume the agent made itself (a disk volume under its work dir, docs/disks.md), not a
   * host path the task chose: not checked against the allowed host paths, and its root is handed
   * to the container's root user.
   */
  readonly agentVolume?: boolean;
}

/** A limit the container hit: the task ends with this reason. */
export interface Limitation {
  /** Short code reported as the task's reason, e.g. `memory-limit`. */
  readonly reason: string;
  readonly message: string;
}

/**
 * Usage statistics; each isolator fills in its own figures. The fields are the wire's
 * (`ResourceUsage` in `common.proto`, declared once there): an isolator reports a part of it.
 */
export type ContainerUsage = Partial<ResourceUsage>;

/** An isolator. Every method but `name` and `controllers` is optional. */
export interface Isolator {
  readonly name: string;
  /** Cgroup controllers the container must be placed in for this isolator. */
  readonly controllers: readonly Controller[];
  prepare?(container: Container): Promise<void>;
  isolate?(container: Container, pid: number): Promise<void>;
  /**
   * A limit breached now, or undefined. Checked once when the container exits, and — if
   * {@link Isolator.polls} — every ~100 ms while it runs.
   */
  limitation?(container: Container): Promise<Limitation | undefined>;
  /**
   * True when the kernel does not end a task that breaches this isolator's limit (a `du` quota,
   * say), so `limitation` must be polled while it runs. Limits the kernel enforces itself (the
   * OOM killer) are found at exit without polling.
   */
  readonly polls?: boolean;
  usage?(container: Container): Promise<ContainerUsage>;
  cleanup?(container: Container): Promise<void>;
  /**
   * After an agent restart: the containers it re-attached to. The isolator rebuilds what it needs
   * for them and removes its own leftovers that belong to none of them (orphans).
   */
  recover?(containers: readonly Container[]): Promise<void>;
}

/** What an isolator module exports (checked by the plugin loader). */
export interface IsolatorPlugin {
  readonly kind: 'isolator';
  readonly name: string;
  readonly version: string;
  /** Range of the isolator API it supports, e.g. `^1`. */
  readonly galaxyApi: string;
  create(options: IsolatorOptions): Isolator;
}

/** What an isolator is created with. */
export interface IsolatorOptions {
  readonly driver: CgroupDriver;
  /** The agent's cgroup root: unique per agent, so it also tags the agent's other resources. */
  readonly root: string;
  /** The agent's work dir (sandboxes live under it). */
  readonly workDir: string;
}

/** The isolator API version this Galaxy implements. */
export const ISOLATOR_API_VERSION = '1.0.0';

/** The plugin of a built-in isolator, with Galaxy's metadata; `create` is called once per agent. */
export function builtinIsolator(name: string, create: (options: IsolatorOptions) => Isolator): IsolatorPlugin {
  return { ...builtinMeta('isolator', name, ISOLATOR_API_VERSION), create };
}

/** The plugin of a built-in isolator that is one stateless instance: its name is the plugin's. */
export function sharedIsolator(isolator: Isolator): IsolatorPlugin {
  return builtinIsolator(isolator.name, () => isolator);
}
