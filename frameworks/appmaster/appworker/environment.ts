/**
 * The environment a service, its commands and its execs run with: the worker's own, the job's
 * `env`, its assigned ports and the `GALAXY_*` facts about the pod.
 */
import type { WorkerTemplate } from './template.js';

/** Facts about the pod that the service may read. */
export interface PodFacts {
  job: string;
  podId: string;
  revision: number;
  sandbox: string;
  /** Port name → assigned port. */
  ports: Readonly<Record<string, number>>;
}

/** `PORT_<NAME>` for a port name: upper case, `-` becomes `_`. */
export function portVariable(name: string): string {
  return `PORT_${name.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * The service environment. `PORT` is the first of the job's ports that was assigned; the job's
 * own `env` wins over the worker's environment, and the pod facts win over both.
 */
export function serviceEnvironment(
  base: NodeJS.ProcessEnv,
  template: Pick<WorkerTemplate, 'env' | 'ports' | 'package'>,
  pod: PodFacts,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...template.env };
  const names = [...template.ports.map((p) => p.name), ...Object.keys(pod.ports)];
  for (const name of names) {
    const port = pod.ports[name];
    if (port === undefined) continue;
    env[portVariable(name)] = String(port);
  }
  const first = names.find((name) => pod.ports[name] !== undefined);
  if (first !== undefined) env.PORT = String(pod.ports[first]);
  env.GALAXY_JOB = pod.job;
  env.GALAXY_POD_ID = pod.podId;
  env.GALAXY_REVISION = String(pod.revision);
  env.GALAXY_VERSION = template.package.version;
  env.GALAXY_SANDBOX = pod.sandbox;
  return env;
}
