/**
 * Releases in the sandbox: each revision's package is unpacked into `releases/<revision>/`, and
 * its data packages into their `dest` in the sandbox. A release knows how its service runs.
 */
import { lchown, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { destinationInside } from '../../../core/archive/destination.js';
import { GalaxyError } from '../../../core/errors.js';
import type { PullResponse } from '../../../proto/gen/galaxy/v1/appmaster.js';
import { runCommand, serviceUserFrom, type ServiceUser } from './command.js';
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
  /** The service's user, when the container names one (`GALAXY_SERVICE_USER`). */
  readonly user: ServiceUser | undefined;

  constructor(
    private readonly sandbox: string,
    private readonly baseEnv: NodeJS.ProcessEnv,
    private readonly pod: { job: string; podId: string },
  ) {
    this.user = serviceUserFrom(baseEnv);
  }

  /** Fetches and unpacks the package and data packages of `order`'s template. */
  async install(order: PullResponse, signal: AbortSignal): Promise<Release> {
    const template = parseTemplate(order.templateJson);
    const dir = join(this.sandbox, 'releases', String(order.revision));
    // All or nothing: the package and every data package are staged (fetched, checked, unpacked)
    // before any of them is put in place, so a refused one leaves no half-installed release.
    const dests = await installAll(async (staged) => {
      staged.push(await stagePackage(template.package.source, template.package.sha256, dir, { signal }));
      return this.stageData(template, signal, staged);
    });
    // The service owns its release and data (it may write there); `releases/` stays the worker's.
    await this.giveToService([dir, ...dests]);
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
      // No log dir: the service writes to the pod's stdout and stderr (rotated; galaxy logs).
      stopTimeoutMs: template.deploy.stopTimeoutS * 1000,
      backoffMs: template.failure.backoffS * 1000,
      maxBackoffMs: template.failure.maxBackoffS * 1000,
      user: this.user,
    };
    return { revision: order.revision, template, dir, ports, env, command };
  }

  /** Installs `order`'s data packages for the running `release`, then runs its reload command. */
  async reload(release: Release, order: PullResponse, signal: AbortSignal): Promise<void> {
    const template = parseTemplate(order.templateJson);
    await this.giveToService(await installAll((staged) => this.stageData(template, signal, staged)));
    const reload = template.commands.reload ?? release.template.commands.reload;
    if (reload === undefined) return;
    const result = await runCommand(reload, {
      cwd: release.dir,
      env: release.env,
      user: this.user,
      timeoutMs: RELOAD_TIMEOUT_MS,
    });
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

  /** Stages each data package for its `dest`, resolved on disk inside the sandbox; resolves with the dests. */
  private async stageData(template: WorkerTemplate, signal: AbortSignal, staged: StagedPackage[]): Promise<string[]> {
    const dests: string[] = [];
    for (const data of template.data) {
      const dest = destinationInside(this.sandbox, data.dest, `data package "${data.name}"`);
      staged.push(await stagePackage(data.source, data.sha256, dest, { signal }));
      dests.push(dest);
    }
    return dests;
  }

  /** Gives each path (a release, a data package's dest) and what it holds to the service's user. */
  private async giveToService(paths: readonly string[]): Promise<void> {
    if (this.user) for (const path of paths) await chownTree(path, this.user);
  }
}

/** Runs `stage`, then commits everything it staged; if staging fails, discards it all instead. */
async function installAll<T>(stage: (staged: StagedPackage[]) => Promise<T>): Promise<T> {
  const staged: StagedPackage[] = [];
  try {
    const result = await stage(staged);
    for (const one of staged) await one.commit();
    return result;
  } finally {
    for (const one of staged) await one.discard();
  }
}

/** Gives `path` and everything under it to `user`; links themselves, never what they point to. */
async function chownTree(path: string, user: ServiceUser): Promise<void> {
  await lchown(path, user.uid, user.gid);
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, user);
    else await lchown(child, user.uid, user.gid);
  }
}
