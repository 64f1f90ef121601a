/**
 * The Linux containerizer's runtime directory (`<work-dir>/runtime`, 0700): the host layout the
 * containers' roots are planned from, the mount point their roots are built on, the files their
 * monitors leave an exit status in, and each container's overlay layers over its root filesystem
 * image. Nothing in it is reachable from a container.
 */
import { chown, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExitInfo } from '../launcher.js';
import { prepareHostLayout } from './host-layout.js';
import type { HostLayout } from './root-plan.js';

/** A container's writable layers over an image: overlayfs' upper and work directories. */
export interface OverlayLayers {
  readonly upper: string;
  readonly work: string;
}

/** The files a {@link LinuxLauncher} keeps beside its containers. */
export class RuntimeDir {
  private layout: Promise<HostLayout> | undefined;

  /** `dir` is the runtime directory, `workDir` the agent's work directory (hidden from containers). */
  constructor(
    readonly dir: string,
    private readonly workDir: string,
  ) {}

  /** The host layout, found once (the generated /etc is written on first use). */
  hostLayout(): Promise<HostLayout> {
    this.layout ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await mkdir(this.rootMount(), { recursive: true, mode: 0o700 });
      await mkdir(join(this.dir, 'exits'), { recursive: true, mode: 0o700 });
      return prepareHostLayout(this.dir, this.workDir);
    })();
    return this.layout;
  }

  /** Where the helper builds a container's root before it pivots into it. */
  rootMount(): string {
    return join(this.dir, 'root');
  }

  /** Where a container's monitor writes the task's exit status (outside the container's reach). */
  exitFile(id: string): string {
    return join(this.dir, 'exits', id);
  }

  /** The exit status a container's monitor left behind (null when it never wrote one). */
  async readExitFile(id: string): Promise<ExitInfo> {
    try {
      const code = Number((await readFile(this.exitFile(id), 'utf8')).trim());
      return { code: Number.isInteger(code) ? code : null, signal: null };
    } catch {
      return { code: null, signal: null };
    }
  }

  /** Forgets a container's exit status (it may never have been written). */
  async removeExitFile(id: string): Promise<void> {
    await unlink(this.exitFile(id)).catch(() => undefined);
  }

  /** The containers that left an exit status, running or not. */
  async exited(): Promise<string[]> {
    return readdir(join(this.dir, 'exits')).catch(() => [] as string[]);
  }

  /**
   * The container's own layers over image `sha256`: an empty upper (owned by its root, so that
   * the root of the overlay is its) and overlayfs' work directory, beside a note naming the image
   * (so the cache keeps it while the container lives, even across an agent restart).
   */
  async makeOverlay(
    id: string,
    sha256: string,
    owner: { uid: number; gid: number } | undefined,
  ): Promise<OverlayLayers> {
    const dir = this.overlayDir(id);
    await mkdir(join(this.dir, 'overlays'), { recursive: true, mode: 0o700 });
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, 'image'), sha256);
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    await mkdir(upper, { mode: 0o755 });
    await mkdir(work, { mode: 0o700 });
    if (owner) await chown(upper, owner.uid, owner.gid);
    return { upper, work };
  }

  /** Removes a container's overlay layers. */
  async removeOverlay(id: string): Promise<void> {
    await rm(this.overlayDir(id), { recursive: true, force: true });
  }

  /** The containers that have overlay layers on disk (containers from before a restart included). */
  async overlays(): Promise<string[]> {
    return readdir(join(this.dir, 'overlays')).catch(() => [] as string[]);
  }

  /** The images the overlays on disk name. */
  async imagesOfOverlays(): Promise<Set<string>> {
    const ids = await this.overlays();
    const names = await Promise.all(
      ids.map((id) => readFile(join(this.overlayDir(id), 'image'), 'utf8').catch(() => '')),
    );
    return new Set(names.filter((name) => name !== ''));
  }

  /** Where a container's overlay layers are (removed with the container). */
  private overlayDir(id: string): string {
    return join(this.dir, 'overlays', id);
  }
}
