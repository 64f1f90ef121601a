/**
 * Releases in the sandbox: each revision's package is unpacked into `releases/<revision>/`, and
 * its data packages into their `dest` in the sandbox. A release knows how its service runs.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { destinationInside } from '../../../core/archive/destination.js';
import { GalaxyError } from '../../../core/errors.js';
import type { PullResponse } from '../../../proto/gen/galaxy/v1/appmaster.js';
import { runCommand } from './command.js';
import { serviceEnvironment } from './environment.js';
import { stagePackage, type StagedPackage } from './package.js';
import type { ServiceCommand } from './supervisor.js';
import { parseTemplate, type WorkerTemplate } from './template.js';

/** How long a reload command may run. */
const RELOAD_TIMEOUT_MS = 60_000;

/** One installed revision of the service. */
export interface Release {
  revision: number;
  template: WorkerTemplate;
  /** `releases/<revision>` in the sandbox: where the service and its commands run. */
  dir: string;
  /** Port name → assigned port. */
  ports: Readonly<Record<string, number>>;
  env: NodeJS.ProcessEnv;
  command: ServiceCommand;
}

/** Installs, reloads and prunes the releases of one sandbox. */
export class ReleaseManager {
  constructor(
    private readonly sandbox: string,
    private readonly baseEnv: NodeJS.ProcessEnv,
    private readonly pod: { job: string; podId: string },
  ) {}

  /** Fetches and unpacks the package and data packages of `order`'s template. */
  async install(order: PullResponse, signal: AbortSignal): Promise<Release> {
    const template = parseTemplate(order.templateJson);
    const dir = join(this.sandbox, 'releases', String(order.revision));
    // All or nothing: the package and every data package are staged (fetched, checked, unpacked)
    // before any of them is put in place, so a refused one leaves no half-installed release.
    await installAll(async (staged) => {
      staged.push(await stagePackage(template.package.source, template.package.sha256, dir, { signal }));
      await this.stageData(template, signal, staged);
    });
    const ports = { ...order.assignedPorts };
    const env = serviceEnvironment(this.baseEnv, template, {
      ...this.pod,
      revision: order.revision,
      sandbox: this.sandbox,
      ports,
    });
    const command: ServiceCommand = {
      start: template.commands.start,
      stop: template.commands.stop,
      cwd: dir,
      env,
      logDir: join(this.sandbox, 'logs'),
      stopTimeoutMs: template.deploy.stopTimeoutS * 1000,
      backoffMs: template.failure.backoffS * 1000,
      maxBackoffMs: template.failure.maxBackoffS * 1000,
    };
    return { revision: order.revision, template, dir, ports, env, command };
  }

  /** Installs `order`'s data packages for the running `release`, then runs its reload command. */
  async reload(release: Release, order: PullResponse, signal: AbortSignal): Promise<void> {
    const template = parseTemplate(order.templateJson);
    await installAll((staged) => this.stageData(template, signal, staged));
    const reload = template.commands.reload ?? release.template.commands.reload;
    if (reload === undefined) return;
    const result = await runCommand(reload, { cwd: release.dir, env: release.env, timeoutMs: RELOAD_TIMEOUT_MS });
    if (result.exitCode !== 0) {
      throw new GalaxyError(
        'GALAXY_E_PACKAGE',
        `the reload command exited with ${result.exitCode}: ${result.stderr.trim().slice(0, 500)}`,
      );
    }
  }

  /** Removes every release directory but those of `keep`. */
  async prune(keep: readonly number[]): Promise<void> {
    const root = join(this.sandbox, 'releases');
    for (const name of await readdir(root)) {
      if (/^\d+$/.test(name) && !keep.includes(Number(name)))
        await rm(join(root, name), { recursive: true, force: true });
    }
  }

  /** Stages each data package for its `dest`, resolved on disk inside the sandbox. */
  private async stageData(template: WorkerTemplate, signal: AbortSignal, staged: StagedPackage[]): Promise<void> {
    for (const data of template.data) {
      const dest = destinationInside(this.sandbox, data.dest, `data package "${data.name}"`);
      staged.push(await stagePackage(data.source, data.sha256, dest, { signal }));
    }
  }
}

/** Runs `stage`, then commits everything it staged; if staging fails, discards it all instead. */
async function installAll(stage: (staged: StagedPackage[]) => Promise<void>): Promise<void> {
  const staged: StagedPackage[] = [];
  try {
    await stage(staged);
    for (const one of staged) await one.commit();
  } finally {
    for (const one of staged) await one.discard();
  }
}
