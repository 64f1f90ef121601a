/**
 * The framework plugin interface: what `galaxy framework run <name|path>` hosts. A plugin gives a
 * scheduler (the SDK's event handlers) and may start its own API once subscribed.
 */
import type { ServerAuth } from '../../core/auth/server.js';
import type { TlsFiles } from '../../core/tls.js';
import type { Logger } from '../../core/logger.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import type { Scheduler } from '../sdk/scheduler.js';
import type { FrameworkHostHooks } from './hooks.js';
import type { Registry } from 'prom-client';
import type { FrameworkCapability } from '../../proto/gen/galaxy/v1/common.js';

/** What the host gives a framework plugin. */
export interface FrameworkContext {
  /** The master, `host:port`. */
  readonly master: string;
  readonly log: Logger;
  /** `--option key=value` pairs from the command line. */
  readonly options: Readonly<Record<string, string>>;
  readonly hooks: FrameworkHostHooks;
  /** How the framework's own API authenticates its callers; none: it is open. */
  readonly auth?: ServerAuth;
  /** TLS of the framework's own API (`--tls-cert`, `--tls-key`, `--tls-ca`); none: plaintext. */
  readonly tls?: TlsFiles;
}

/** A framework as the host runs it. */
export interface HostedFramework {
  readonly info: {
    readonly name: string;
    readonly role?: string;
    /** MULTI_ROLE: every role it is offered resources for (a framework acting for users: its jobs' owners'). */
    readonly roles?: readonly string[];
    readonly failoverTimeoutS?: number;
    /** Capabilities it subscribes with, e.g. REVOCABLE_RESOURCES (revocable offers, docs/resources.md). */
    readonly capabilities?: readonly FrameworkCapability[];
    /** A framework id to subscribe with (failover of an earlier run); read after {@link prepare}. */
    readonly id?: string;
    /**
     * False: the framework acknowledges status updates itself (`driver.acknowledge`), e.g. once it
     * has stored their effect. Default true: each is acknowledged when its handler returns.
     */
    readonly autoAcknowledge?: boolean;
  };
  readonly scheduler: Scheduler;
  /** Where its own API listens, once started (for clients and tests). */
  readonly endpoint?: string;
  /**
   * Before subscribing: load state (stored jobs, the framework id of an earlier run…). A framework
   * with standbys waits here until it is elected.
   */
  prepare?(): Promise<void>;
  /** Resolves when the framework lost its leadership and stopped acting; its host should exit. */
  readonly lost?: Promise<void>;
  /** Once subscribed: start serving (an API, a job queue…). */
  start?(driver: SchedulerDriver): Promise<void>;
  /** Before the host disconnects. */
  stop?(): Promise<void>;
  /** Its Prometheus metrics (a prom-client registry), served by `--metrics-listen`. */
  readonly metrics?: Registry;
}

/** What a framework module exports. */
export interface FrameworkPlugin {
  readonly kind: 'framework';
  readonly name: string;
  readonly version: string;
  /** Range of the framework host API it supports, e.g. `^1`. */
  readonly galaxyApi: string;
  create(context: FrameworkContext): HostedFramework;
}

/** The framework host API version this Galaxy implements. */
export const FRAMEWORK_API_VERSION = '1.0.0';
