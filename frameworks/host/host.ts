/**
 * Hosts a framework plugin: loads it by built-in name or module path, connects it to the master
 * through the SDK's driver, and routes its events through the host's hooks.
 */
import type { ServerAuth } from '../../core/auth/server.js';
import type { TlsFiles } from '../../core/tls.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { loadPlugin, type PluginMeta } from '../../core/plugin-loader.js';
import { GrpcSchedulerDriver } from '../sdk/scheduler-driver.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import type { Scheduler } from '../sdk/scheduler.js';
import appmaster from '../appmaster/index.js';
import batch from '../batch/index.js';
import mapreduce from '../mapreduce/index.js';
import { createFrameworkHostHooks, type FrameworkHostHooks } from './hooks.js';
import { FRAMEWORK_API_VERSION, type FrameworkPlugin, type HostedFramework } from './plugin.js';

/** The built-in framework plugins by name. */
export const BUILTIN_FRAMEWORKS: Readonly<Record<string, FrameworkPlugin>> = { appmaster, batch, mapreduce };

function isFrameworkPlugin(value: PluginMeta): value is FrameworkPlugin {
  return typeof (value as Partial<FrameworkPlugin>).create === 'function';
}

/** A hosted, running framework. */
export interface FrameworkHandle {
  readonly hooks: FrameworkHostHooks;
  readonly framework: HostedFramework;
  readonly driver: SchedulerDriver;
  /** Stops the framework and disconnects (its tasks survive for the failover timeout). */
  stop(): Promise<void>;
}

/** Loads and starts the framework named by `spec`. */
export async function runFramework(
  spec: string,
  options: {
    master: string;
    options?: Record<string, string>;
    log?: Logger;
    /** The framework's token for the master (a user's); none for an open master. */
    token?: string;
    /** How the framework's own API authenticates; none: open. */
    auth?: ServerAuth;
    /** TLS of its API and towards the master (see `core/tls.ts`); none: plaintext. */
    tls?: TlsFiles;
  },
): Promise<FrameworkHandle> {
  const plugin = await loadPlugin('framework', spec, BUILTIN_FRAMEWORKS, FRAMEWORK_API_VERSION, isFrameworkPlugin);
  const log = options.log ?? createLogger(`framework:${plugin.name}`);
  const hooks = createFrameworkHostHooks();
  const framework = plugin.create({
    master: options.master,
    log,
    options: options.options ?? {},
    hooks,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  await framework.prepare?.();
  const inner = framework.scheduler;
  // The host's hooks see every event before the framework does. Handlers are called on `inner`
  // (a scheduler may be a class: its methods live on its prototype).
  const scheduler: Scheduler = {
    subscribed: async (d, info) => {
      hooks.subscribed.call(info);
      await inner.subscribed?.(d, info);
    },
    offers: async (d, offers) => {
      hooks.offers.call(offers);
      await inner.offers?.(d, offers);
    },
    update: async (d, status) => {
      hooks.statusUpdate.call(status);
      await inner.update?.(d, status);
    },
    rescind: (d, offerId) => inner.rescind?.(d, offerId),
    failure: (d, agentId) => inner.failure?.(d, agentId),
    agentDraining: (d, agentId, draining) => inner.agentDraining?.(d, agentId, draining),
    error: (d, error) => inner.error?.(d, error),
    message: (d, message) => inner.message?.(d, message),
    disconnected: (d) => inner.disconnected?.(d),
  };
  const driver = new GrpcSchedulerDriver({
    master: options.master,
    framework: {
      name: framework.info.name,
      role: framework.info.role ?? '',
      roles: [...(framework.info.roles ?? [])],
      failoverTimeoutS: framework.info.failoverTimeoutS ?? 300,
      ...(framework.info.capabilities?.length ? { capabilities: { values: [...framework.info.capabilities] } } : {}),
      ...(framework.info.id ? { id: framework.info.id } : {}),
    },
    scheduler,
    autoAcknowledge: framework.info.autoAcknowledge ?? true,
    logger: log,
    token: options.token,
    tls: options.tls,
  });
  await driver.start();
  // A framework that lost its leadership must not keep the subscription: its successor takes it.
  void framework.lost?.then(() => driver.stop());
  await framework.start?.(driver);
  return {
    hooks,
    framework,
    driver,
    stop: async () => {
      await framework.stop?.();
      await driver.stop();
    },
  };
}
