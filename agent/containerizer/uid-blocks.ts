/**
 * Host uid ranges of containers (docs/security.md, "Users and capabilities"). Each container has
 * its own user namespace: container uid/gid 0–65535 is host BASE..BASE+65535, one block of
 * `--uid-range` per container. A block is claimed by a file in a host-wide directory
 * (`/run/galaxy/uid-blocks/<BASE>`, created exclusively), so two live containers never share one —
 * not even containers of two agents on one machine. The claim is the checkpoint: it names its
 * agent (work dir) and container, survives the agent's restart, and is released when the
 * container is destroyed. A claim whose agent work dir no longer exists is stale and reused.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';

/** Ids per container: a user namespace maps this many uids (and gids). */
export const USERNS_SIZE = 65536;

/** Where claims live: tmpfs, so they go with the containers at a reboot. */
export const UID_CLAIMS_DIR = '/run/galaxy/uid-blocks';

/** The host ids containers of one agent come from: `count` blocks of {@link USERNS_SIZE} from `first`. */
export interface UidRange {
  readonly first: number;
  readonly count: number;
}

/** Default: host uid 1,000,000 up, room for 16,384 live containers. */
export const DEFAULT_UID_RANGE: UidRange = { first: 1_000_000, count: 16_384 };

/** Parses `--uid-range FIRST[:COUNT]` (COUNT containers); throws a coded error naming the flag. */
export function parseUidRange(spec: string | undefined): UidRange {
  if (spec === undefined || spec.trim() === '') return DEFAULT_UID_RANGE;
  const match = /^(\d+)(?::(\d+))?$/.exec(spec.trim());
  const first = Number(match?.[1]);
  const count = match?.[2] === undefined ? DEFAULT_UID_RANGE.count : Number(match[2]);
  if (
    !match ||
    !Number.isSafeInteger(first) ||
    first < USERNS_SIZE ||
    count < 1 ||
    first + count * USERNS_SIZE > 2 ** 32 - 2
  )
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `--uid-range "${spec.slice(0, 40)}" must be FIRST[:COUNT] with FIRST >= 65536 (above the host's own users) and FIRST + COUNT*65536 below 2^32`,
    );
  return { first, count };
}

/** One claim file. */
export interface UidClaim {
  /** The claiming agent's work dir. */
  readonly owner: string;
  readonly container: string;
}

/**
 * What to do with a claim found on disk: keep it for a live container of ours, drop it (ours, but
 * nobody re-attached to its container; or its agent's work dir is gone), or leave it (another
 * live agent's).
 */
export function judgeClaim(
  claim: UidClaim | undefined,
  self: string,
  live: ReadonlySet<string>,
  ownerExists: (dir: string) => boolean,
): 'adopt' | 'drop' | 'foreign' {
  if (!claim) return 'drop';
  if (claim.owner === self) return live.has(claim.container) ? 'adopt' : 'drop';
  return ownerExists(claim.owner) ? 'foreign' : 'drop';
}

function parseClaim(text: string): UidClaim | undefined {
  try {
    const value = JSON.parse(text) as Partial<UidClaim>;
    return typeof value.owner === 'string' && typeof value.container === 'string'
      ? { owner: value.owner, container: value.container }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The uid blocks of one agent's containers. */
export class UidBlocks {
  private readonly byContainer = new Map<string, number>();
  private next = 0;

  constructor(
    private readonly range: UidRange,
    /** This agent's work dir (real path): names its claims. */
    private readonly owner: string,
    private readonly dir: string = UID_CLAIMS_DIR,
  ) {}

  /** The host uid that is container `id`'s root, if it has a block. */
  baseOf(id: string): number | undefined {
    return this.byContainer.get(id);
  }

  /**
   * Claims a free block for container `id`; resolves with its base (host uid of the container's
   * root). Claims are tiny files on tmpfs, made synchronously: on a launch's critical path a hop
   * to libuv's thread pool per file costs more than the file.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- a failure is a rejection, as callers expect
  async claim(id: string): Promise<number> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const content = JSON.stringify({ owner: this.owner, container: id } satisfies UidClaim);
    for (let tried = 0; tried < this.range.count; tried++) {
      const block = (this.next + tried) % this.range.count;
      const base = this.range.first + block * USERNS_SIZE;
      if (!this.tryClaim(base, content)) continue;
      this.next = (block + 1) % this.range.count;
      this.byContainer.set(id, base);
      return base;
    }
    throw new GalaxyError(
      'GALAXY_E_LAUNCH_FAILED',
      `no free uid range for a container: all ${this.range.count} blocks of --uid-range are in use`,
    );
  }

  /** Creates the claim of `base` exclusively; takes over a stale one (its agent's work dir is gone). */
  private tryClaim(base: number, content: string): boolean {
    const file = join(this.dir, String(base));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // Gone meanwhile: try again.
      }
      const claim = parseClaim(text);
      // Ours (live, or left for recovery) or another live agent's: not free. Unreadable: being written.
      if (!claim || claim.owner === this.owner || existsSync(claim.owner)) return false;
      rmSync(file, { force: true });
    }
    return false;
  }

  /** Releases container `id`'s block (nothing when it has none). */
  // eslint-disable-next-line @typescript-eslint/require-await -- a failure is a rejection, as callers expect
  async release(id: string): Promise<void> {
    const base = this.byContainer.get(id);
    if (base === undefined) return;
    this.byContainer.delete(id);
    rmSync(join(this.dir, String(base)), { force: true });
  }

  /**
   * After a restart: adopts this agent's claims of containers in `live`, and drops its other
   * claims and stale ones of agents whose work dir is gone.
   */
  async recover(live: ReadonlySet<string>): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const base = Number(name);
      if (!Number.isSafeInteger(base)) continue;
      const file = join(this.dir, name);
      const claim = parseClaim(await readFile(file, 'utf8').catch(() => ''));
      const verdict = judgeClaim(claim, this.owner, live, existsSync);
      if (verdict === 'adopt' && claim) this.byContainer.set(claim.container, base);
      // An unreadable claim may be being written by another agent this instant: leave it to it.
      else if (verdict === 'drop' && claim) await rm(file, { force: true });
    }
  }
}
