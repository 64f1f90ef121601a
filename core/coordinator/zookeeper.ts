/**
 * The ZooKeeper coordinator, for clusters larger than one machine. Key `/a/b` is the znode
 * `<chroot>/a/b`. A key's znode holds `<version>\n<value>`; a znode with empty data only holds
 * keys under it (ZooKeeper needs a znode on every path, Galaxy does not): such znodes are made as
 * needed and pruned when they empty. The version lives in the data because a znode that first held
 * only keys under it and later gets a value must still start the key at version 0; every write
 * still goes through ZooKeeper's own version check, so compare-and-set is atomic.
 *
 * One coordinator is one ZooKeeper session; ephemeral keys are ephemeral znodes of it.
 *
 * **Sessions and leadership.** The session is over — every leadership's `lost` resolves, pending
 * elections reject, every later call rejects with `GALAXY_E_COORD_UNAVAILABLE`, and `session`
 * aborts — at the first of: `close()`; the ensemble expiring it; the client being cut off from
 * every server until two thirds of the session timeout have passed since a server last answered it. A leader must stop acting when `lost`
 * resolves: by then no other candidate can have been made leader (see `zookeeper-session.ts` for
 * the arithmetic). A blip shorter than that (one server of three stopping, say) changes nothing.
 * After the session is over, open a new coordinator; when it ended by being cut off, the old
 * session's ephemeral keys (and candidacies) linger until the ensemble expires it.
 *
 * Limits of the mapping: ZooKeeper ephemerals cannot have keys under them (such writes fail with
 * `GALAXY_E_INVALID_ARGUMENT`), nor can a key with keys under it become ephemeral.
 *
 * **With a cluster secret** ({@link ZkSecret}) the session authenticates with it, every znode from
 * the chroot down carries Galaxy's ACL only, and every value is sealed: a znode is created empty,
 * given the ACL, checked to be untouched, and only then written; a value that does not verify is
 * read as no value. A chroot made without the secret (or with another) is refused, as is a chroot
 * protected by a secret to a session without it (`GALAXY_E_COORD_DENIED`).
 */
import { GalaxyError } from '../errors.js';
import { mapConcurrently } from '../concurrency.js';
import type { Coordinator, KeyChange, Leadership, Unwatch, Versioned } from './coordinator.js';
import { elect, leaderOf } from './election.js';
import { checkKey, checkPrefix, joinKey, ROOT } from './keys.js';
import { checkExpected, nextVersion, ownedError, checkValueSize } from './versions.js';
import { ZkTreeWatch, type ZkLayout } from './zookeeper-watch.js';
import { checkConnectString, isZk, ZK, ZkSession, type ZkSessionOptions, type ZkStat } from './zookeeper-session.js';
import { checkChroot, secureZnode } from './zookeeper-acl.js';
import type { ZkSecret } from './zookeeper-secret.js';

/** Options of {@link ZooKeeperCoordinator.open}. */
export interface ZooKeeperOptions extends Omit<ZkSessionOptions, 'credential'> {
  /** The znode under which every key lives; created if missing. Default `/galaxy`. */
  readonly chroot?: string;
  /** The cluster secret: ACLs on every znode and sealed values (see the module comment). */
  readonly secret?: ZkSecret;
}

/** The default chroot. */
export const ZK_DEFAULT_CHROOT = '/galaxy';

/** Races (a znode changed between a read and a write) are retried this many times. */
const ATTEMPTS = 20;
/** Stats of a listed prefix's children in flight at once. */
const LIST_STATS = 64;
const EMPTY = Buffer.alloc(0);

/** A key's znode as read: its stat and the key's value, if it has one. */
interface Node {
  readonly stat: ZkStat;
  readonly entry: Versioned | undefined;
}

/** Thrown inside an attempt to start it over. */
class Race extends Error {}

/** The znode payload of a key at `version` holding `value` (sealed on top with a secret). */
function encode(version: number, value: string): Buffer {
  return Buffer.from(`${version}\n${value}`, 'utf8');
}

/** The key a payload holds, or `undefined` for a znode that only holds keys under it. */
function decodeEntry(data: Buffer | null | undefined): Versioned | undefined {
  if (data === null || data === undefined || data.length === 0) return undefined;
  const text = data.toString('utf8');
  const newline = text.indexOf('\n');
  const version = Number(text.slice(0, newline));
  if (newline < 1 || !Number.isInteger(version)) return undefined;
  return { version, value: text.slice(newline + 1) };
}

/**
 * True when `node` holds what an earlier attempt meant to write: that write was applied though
 * its answer was lost with the connection.
 */
function written(node: Node | undefined, intended: Versioned | undefined): node is Node & { entry: Versioned } {
  return intended !== undefined && node?.entry?.version === intended.version && node.entry.value === intended.value;
}

/** One ZooKeeper session used as a {@link Coordinator}; see the module comment. */
export class ZooKeeperCoordinator implements Coordinator {
  private readonly watches = new Set<ZkTreeWatch>();
  private readonly layout: ZkLayout;

  private constructor(
    readonly description: string,
    private readonly zk: ZkSession,
    private readonly chroot: string,
    private readonly secret: ZkSecret | undefined,
  ) {
    this.layout = {
      toPath: (key) => this.path(key),
      toKey: (path) => path.slice(chroot.length) || ROOT,
      decode: (key, data) => this.decode(key, data)?.value,
    };
  }

  /**
   * Connects to the ensemble `connectString` (`host:port[,host:port…]`) and opens a session.
   * Rejects with `GALAXY_E_INVALID_ARGUMENT` for a malformed connect string or chroot, and with
   * `GALAXY_E_COORD_UNAVAILABLE` when no server answers within the session timeout.
   */
  static async open(connectString: string, options: ZooKeeperOptions = {}): Promise<ZooKeeperCoordinator> {
    checkConnectString(connectString);
    const chroot = options.chroot ?? ZK_DEFAULT_CHROOT;
    checkPrefix(chroot);
    if (chroot === ROOT) {
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        'the ZooKeeper chroot cannot be "/" (ZooKeeper keeps its own znodes there): use e.g. /galaxy',
      );
    }
    const description = `zk://${connectString}${chroot}`;
    const { secret } = options;
    const zk = await ZkSession.connect(connectString, description, {
      ...options,
      ...(secret ? { credential: secret.credential } : {}),
    });
    const coordinator = new ZooKeeperCoordinator(description, zk, chroot, secret);
    try {
      await coordinator.create(chroot, EMPTY, ZK.PERSISTENT, true);
      await checkChroot(zk, chroot, secret, description);
    } catch (error) {
      zk.close();
      throw error;
    }
    return coordinator;
  }

  /** The session timeout the ensemble granted, ms. */
  get sessionTimeoutMs(): number {
    return this.zk.timeoutMs;
  }

  /** Aborts when the session is over (its `reason` says why); see the module comment. */
  get session(): AbortSignal {
    return this.zk.ended;
  }

  async get(key: string): Promise<Versioned | undefined> {
    this.enter(key);
    return (await this.read(key))?.entry;
  }

  async put(key: string, value: string, options: { expectedVersion?: number } = {}): Promise<number> {
    this.enter(key);
    checkValueSize(key, value);
    let intended: Versioned | undefined;
    return this.attempt(key, async () => {
      const node = await this.read(key);
      if (written(node, intended)) return node.entry.version;
      checkExpected(key, node?.entry, options.expectedVersion);
      intended = { version: nextVersion(node?.entry), value };
      await this.write(key, node, encode(intended.version, value), ZK.PERSISTENT);
      return intended.version;
    });
  }

  async putEphemeral(key: string, value: string): Promise<void> {
    this.enter(key);
    checkValueSize(key, value);
    let intended: Versioned | undefined;
    await this.attempt(key, async () => {
      const node = await this.read(key);
      if (written(node, intended) && node.stat.ephemeralOwner === this.zk.id) return;
      if (node !== undefined && node.stat.ephemeralOwner !== this.zk.id) {
        if (node.entry !== undefined) throw ownedError(key);
        if (node.stat.numChildren > 0) {
          throw new GalaxyError(
            'GALAXY_E_INVALID_ARGUMENT',
            `${key} has keys under it, and a ZooKeeper ephemeral key cannot: choose another key`,
          );
        }
        await this.zk.call(`delete ${key}`, (c) => c.delete_(this.path(key), node.stat.version));
        throw new Race();
      }
      intended = { version: nextVersion(node?.entry), value };
      await this.write(key, node, encode(intended.version, value), ZK.EPHEMERAL);
    });
  }

  async delete(key: string, options: { expectedVersion?: number; recursive?: boolean } = {}): Promise<void> {
    const recursive = options.recursive === true;
    this.enter(key, recursive);
    let tried = false;
    await this.attempt(key, async () => {
      const node = await this.read(key);
      // A delete that was applied but not confirmed (connection lost) is done.
      if (tried && node?.entry === undefined) return;
      checkExpected(key, node?.entry, options.expectedVersion);
      if (node === undefined) return;
      tried = true;
      const path = this.path(key);
      if (recursive) await this.removeTree(path, key !== ROOT);
      else if (node.entry === undefined) return;
      else if (node.stat.numChildren === 0)
        await this.zk.call(`delete ${key}`, (c) => c.delete_(path, node.stat.version));
      else await this.zk.call(`delete ${key}`, (c) => c.set(path, EMPTY, node.stat.version));
      await this.prune(key);
    });
  }

  async list(prefix: string): Promise<string[]> {
    this.enter(prefix, true);
    const path = this.path(prefix);
    const children = await this.zk
      .call(`list ${prefix}`, (c) => c.get_children(path, false))
      .catch((error: unknown) => (isZk(error, ZK.NONODE) ? [] : Promise.reject(error as Error)));
    // Bounded: thousands of children (a cell's agent credentials) all in flight at once would
    // queue behind each other past the call timeout (issue 16).
    const live = await mapConcurrently(children, LIST_STATS, async (name) => {
      const stat = await this.stat(joinKey(prefix, name));
      return stat !== undefined && (stat.dataLength > 0 || stat.numChildren > 0) ? name : undefined;
    });
    return live.filter((name) => name !== undefined).sort();
  }

  watch(prefix: string, onChange: (change: KeyChange) => void): Unwatch {
    this.enter(prefix, true);
    const watch = new ZkTreeWatch(this.zk, this.layout, prefix, onChange);
    this.watches.add(watch);
    return () => {
      watch.stop();
      this.watches.delete(watch);
    };
  }

  async elect(group: string, candidate: string): Promise<Leadership> {
    this.enter(group);
    return elect(this, group, candidate, this.zk.ended);
  }

  async leader(group: string): Promise<string | undefined> {
    this.enter(group);
    return leaderOf(this, group);
  }

  close(): Promise<void> {
    for (const watch of this.watches) watch.stop();
    this.watches.clear();
    this.zk.close();
    return Promise.resolve();
  }

  /** Checks the session is on and `key` (or, with `prefix`, the prefix) is valid. */
  private enter(key: string, prefix = false): void {
    if (this.zk.ended.aborted) throw this.zk.ended.reason as Error;
    if (prefix) checkPrefix(key);
    else checkKey(key);
  }

  private path(key: string): string {
    return key === ROOT ? this.chroot : `${this.chroot}${key}`;
  }

  /** Runs `fn` until no other writer got in between its read and its write, then lets watches catch up. */
  private async attempt<T>(key: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        const result = await fn();
        await Promise.all([...this.watches].map((w) => w.idle()));
        return result;
      } catch (error) {
        const race =
          error instanceof Race || [ZK.BADVERSION, ZK.NODEEXISTS, ZK.NONODE, ZK.NOTEMPTY].some((rc) => isZk(error, rc));
        if (!race) throw error;
        if (i >= ATTEMPTS) {
          throw new GalaxyError(
            'GALAXY_E_COORD_CONFLICT',
            `${key} kept changing under ${ATTEMPTS} attempts to write it: retry later`,
          );
        }
      }
    }
  }

  private async read(key: string): Promise<Node | undefined> {
    try {
      const [stat, data] = await this.zk.call(`get ${key}`, (c) => c.get(this.path(key), false));
      return { stat, entry: this.decode(key, data) };
    } catch (error) {
      if (isZk(error, ZK.NONODE)) return undefined;
      throw error;
    }
  }

  private async stat(key: string): Promise<ZkStat | undefined> {
    try {
      return await this.zk.call(`stat ${key}`, (c) => c.exists(this.path(key), false));
    } catch (error) {
      if (isZk(error, ZK.NONODE)) return undefined;
      throw error;
    }
  }

  /** The value `data` holds at `key` (unsealed with a secret: a value that does not verify is none). */
  private decode(key: string, data: Buffer | null): Versioned | undefined {
    if (this.secret === undefined || data === null) return decodeEntry(data);
    return decodeEntry(this.secret.unseal(key, data));
  }

  /** Writes `payload` over `node` as read (conditionally on its version), or creates the znode. */
  private async write(key: string, node: Node | undefined, payload: Buffer, flags: number): Promise<void> {
    const path = this.path(key);
    const data = this.secret ? this.secret.seal(key, payload) : payload;
    if (node === undefined) {
      await this.create(path, data, flags);
      return;
    }
    // A znode left without its ACL (its maker stopped between creating and securing it) gets it now.
    if (this.secret && node.stat.aversion === 0) await this.secure(path);
    await this.zk.call(`put ${key}`, (c) => c.set(path, data, node.stat.version));
  }

  /**
   * Creates the znode `path`, and the znodes above it as needed; with `exists`, an existing one is
   * fine. With a secret it is created empty and secured before `data` is written (at version 0, so
   * a write by anyone in between makes it fail as a race).
   */
  private async create(path: string, data: Buffer, flags: number, exists = false): Promise<void> {
    // Galaxy's znodes are the chroot and those under it; the znodes above it are nobody's.
    const secured = this.secret !== undefined && (path === this.chroot || path.startsWith(`${this.chroot}/`));
    for (let i = 0; i < ATTEMPTS; i++) {
      try {
        await this.zk.call(`create ${path}`, (c) => c.create(path, secured ? EMPTY : data, flags));
        if (!secured) return;
        await this.secure(path, true);
        if (data.length > 0) await this.zk.call(`put ${path}`, (c) => c.set(path, data, 0));
        return;
      } catch (error) {
        if (error instanceof Race) continue; // tampered with while world-open, and deleted: again
        if (exists && isZk(error, ZK.NODEEXISTS)) return;
        if (!isZk(error, ZK.NONODE)) throw error;
        await this.create(path.slice(0, path.lastIndexOf('/')), EMPTY, ZK.PERSISTENT, true);
      }
    }
    throw new GalaxyError(
      'GALAXY_E_COORD_CONFLICT',
      `${path}: the znodes above it kept vanishing, or it kept being tampered with: retry later`,
    );
  }

  /** Gives the znode `path` Galaxy's ACL (`secureZnode`), deleting it if it was tampered with. */
  private async secure(path: string, fresh = false): Promise<void> {
    if (this.secret && (await secureZnode(this.zk, this.secret, path, fresh)) === 'tampered') await this.discard(path);
  }

  /** Deletes a znode someone tampered with while it was world-open, and starts the write over. */
  private async discard(path: string): Promise<never> {
    await this.removeTree(path, true);
    throw new Race();
  }

  /** Deletes the znode `path` and everything under it (`self`: the znode itself too). */
  private async removeTree(path: string, self: boolean): Promise<void> {
    const children = await this.zk
      .call(`list ${path}`, (c) => c.get_children(path, false))
      .catch((error: unknown) => (isZk(error, ZK.NONODE) ? [] : Promise.reject(error as Error)));
    for (const child of children) await this.removeTree(`${path}/${child}`, true);
    if (!self) return;
    await this.zk
      .call(`delete ${path}`, (c) => c.delete_(path, -1))
      .catch((error: unknown) => {
        if (!isZk(error, ZK.NONODE)) throw error;
      });
  }

  /** Deletes the emptied znodes above `key` that only held keys under them. */
  private async prune(key: string): Promise<void> {
    for (
      let parent = key.slice(0, key.lastIndexOf('/'));
      parent !== '';
      parent = parent.slice(0, parent.lastIndexOf('/'))
    ) {
      const node = await this.read(parent).catch(() => undefined);
      if (node === undefined || node.entry !== undefined || node.stat.numChildren > 0) return;
      const gone = await this.zk
        .call(`prune ${parent}`, (c) => c.delete_(this.path(parent), node.stat.version))
        .then(
          () => true,
          () => false,
        );
      if (!gone) return;
    }
  }
}
