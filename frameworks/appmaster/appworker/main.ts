/**
 * `galaxy appworker`: the AppWorker as a task's command, configured by the environment the
 * AppMaster gives its containers.
 */
import { createLogger } from '../../../core/logger.js';
import { AppWorker } from './worker.js';

const REQUIRED = ['GALAXY_APPMASTERS', 'GALAXY_JOB', 'GALAXY_POD_ID', 'GALAXY_TASK_ID'] as const;
/** What only the worker reads: the service it starts does not inherit them. */
const WORKER_ONLY = ['GALAXY_POD_TOKEN', 'GALAXY_APPMASTERS'] as const;

/**
 * Runs an AppWorker from `GALAXY_APPMASTERS` (every AppMaster's `host:port`, comma-separated, the
 * leader first), `GALAXY_POD_TOKEN`, `GALAXY_JOB`, `GALAXY_POD_ID`, `GALAXY_TASK_ID` and
 * `GALAXY_SANDBOX` (default: the working directory) until the AppMaster sends EXIT or the process
 * gets SIGTERM/SIGINT, which stop the service within its stop timeout.
 * @returns the exit code: 0, or 2 when the environment is incomplete
 */
export async function runAppWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // The worker's own lines go to stderr: the pod's stdout is its service's (galaxy logs).
  const log = createLogger('appworker', undefined, 2);
  const missing = REQUIRED.filter((name) => !env[name]?.replaceAll(',', '').trim());
  if (missing.length > 0) {
    log.error({ missing }, `GALAXY_E_INVALID_ARGUMENT: the AppWorker needs ${missing.join(', ')} in its environment`);
    return 2;
  }
  // The pull token is the worker's alone: the service it starts does not inherit it.
  const token = env.GALAXY_POD_TOKEN;
  const serviceEnv = Object.fromEntries(
    Object.entries(env).filter(([name]) => !(WORKER_ONLY as readonly string[]).includes(name)),
  );
  const worker = new AppWorker({
    appmasters: (env.GALAXY_APPMASTERS ?? '').split(','),
    job: env.GALAXY_JOB ?? '',
    podId: env.GALAXY_POD_ID ?? '',
    taskId: env.GALAXY_TASK_ID ?? '',
    sandbox: env.GALAXY_SANDBOX ?? process.cwd(),
    env: serviceEnv,
    logger: log,
    ...(token ? { token } : {}),
    ...(env.GALAXY_APPMASTER_CA ? { ca: env.GALAXY_APPMASTER_CA } : {}),
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping the service');
    void worker.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    worker.start();
    log.info({ appmasters: env.GALAXY_APPMASTERS, podId: env.GALAXY_POD_ID }, 'appworker started');
    await worker.done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  log.info({ podId: env.GALAXY_POD_ID }, 'appworker stopped');
  return 0;
}
