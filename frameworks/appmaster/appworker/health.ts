/**
 * Health checking of the service: an http GET, a tcp connect or a command, repeated every
 * `intervalS`. Failures during the first `graceS` after a start do not count; `failures`
 * consecutive failures make the service unhealthy, and one pass makes it healthy again.
 */
import { connect } from 'node:net';
import { runCommand, type ServiceUser } from './command.js';
import type { WorkerTemplate } from './template.js';

/** What the AppMaster is told about a pod's health. */
export type Health = 'unknown' | 'healthy' | 'unhealthy';

/** A health check as the job spec defines it. */
export type HealthCheckSpec = NonNullable<WorkerTemplate['health']>;

/** What a check runs against. */
export interface HealthTarget {
  /** Port name → assigned port. */
  ports: Readonly<Record<string, number>>;
  /** Where a command check runs, with which environment and as whom. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  user?: ServiceUser;
}

const MIN_INTERVAL_MS = 50;

/** Runs one check; resolves true when it passes within `timeoutS`. Never rejects. */
export async function probe(spec: HealthCheckSpec, target: HealthTarget): Promise<boolean> {
  const timeoutMs = Math.max(1, spec.timeoutS * 1000);
  if (spec.type === 'command') {
    const result = await runCommand(spec.command ?? 'false', {
      cwd: target.cwd,
      env: target.env,
      user: target.user,
      timeoutMs,
    });
    return result.exitCode === 0;
  }
  const port = spec.port === undefined ? undefined : target.ports[spec.port];
  if (port === undefined) return false;
  return spec.type === 'http' ? probeHttp(port, spec.path, timeoutMs) : probeTcp(port, timeoutMs);
}

async function probeHttp(port: number, path: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 400;
  } catch {
    return false;
  }
}

function probeTcp(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/** Watches one running process; restarted by {@link HealthMonitor.start} at every (re)start. */
export class HealthMonitor {
  /** The current verdict: `unknown` until the first result after a start. */
  health: Health = 'unknown';
  private generation = 0;
  private startedAt = 0;
  private consecutiveFailures = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param spec the check; without one the service is healthy while it runs
   * @param onChange called whenever {@link health} changes
   */
  constructor(
    private readonly spec: HealthCheckSpec | undefined,
    private readonly target: HealthTarget,
    private readonly onChange: (health: Health) => void = () => undefined,
  ) {}

  /** The process has just started: forget the past and begin checking. */
  start(): void {
    this.stop();
    this.startedAt = Date.now();
    if (!this.spec) {
      this.set('healthy');
      return;
    }
    this.schedule(this.generation, 0);
  }

  /** The process is gone: stop checking; health is unknown. */
  stop(): void {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.consecutiveFailures = 0;
    this.set('unknown');
  }

  private schedule(generation: number, delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.check(generation);
    }, delayMs);
  }

  private async check(generation: number): Promise<void> {
    const spec = this.spec;
    if (!spec) return;
    const passed = await probe(spec, this.target);
    if (generation !== this.generation) return;
    if (passed) {
      this.consecutiveFailures = 0;
      this.set('healthy');
    } else if (Date.now() - this.startedAt >= spec.graceS * 1000) {
      this.consecutiveFailures += 1;
      if (this.consecutiveFailures >= spec.failures) this.set('unhealthy');
    }
    this.schedule(generation, Math.max(MIN_INTERVAL_MS, spec.intervalS * 1000));
  }

  private set(health: Health): void {
    if (health === this.health) return;
    this.health = health;
    this.onChange(health);
  }
}
