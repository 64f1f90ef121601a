/**
 * The `Coordinator`: what Galaxy needs from a coordination service (Baidu Galaxy's Nexus, or
 * ZooKeeper). Durable keys with versions and compare-and-set, ephemeral keys tied to a session,
 * watches, and leader election. Backends: `memory` (tests of logic), `local` (the embedded
 * default: files in a work directory, written atomically), `zookeeper` (the HA issue).
 *
 * Keys are `/`-separated paths such as `/galaxy/appmaster/jobs/web`; values are UTF-8 strings
 * (JSON by convention). Segments are `[A-Za-z0-9_.:@-]`, never `.` or `..`.
 */

/**
 * The largest value a key may hold, in bytes of UTF-8: ZooKeeper refuses a request larger than its
 * `jute.maxbuffer` (1 MiB by default, path and framing included) by dropping the connection, so
 * every backend refuses a larger value up front with GALAXY_E_TOO_LARGE, and what works on the
 * `local:` coordinator works on ZooKeeper too.
 */
export const MAX_VALUE_BYTES = 1_000_000;

/** A value and the version it was read at. */
export interface Versioned {
  readonly value: string;
  /** Starts at 0 on create and grows by 1 on every write of the key. */
  readonly version: number;
}

/** What a watch reports: the key and its new value, or `undefined` when it was deleted. */
export interface KeyChange {
  readonly key: string;
  readonly value: string | undefined;
}

/** Stops a watch. */
export type Unwatch = () => void;

/** Leadership held by this process; `resign()` gives it up. */
export interface Leadership {
  /** Resolves when leadership is lost (resigned, session expired, coordinator closed). */
  readonly lost: Promise<void>;
  resign(): Promise<void>;
}

/** The coordination service. Every method rejects with a coded `GalaxyError`. */
export interface Coordinator {
  /** The backend's name, e.g. `local:/var/lib/galaxy/coord`. */
  readonly description: string;
  /** The value of `key`, or `undefined`. */
  get(key: string): Promise<Versioned | undefined>;
  /**
   * Writes `key`. With `expectedVersion` the write happens only if the key is at that version
   * (`-1`: only if it does not exist), else it rejects with `GALAXY_E_COORD_CONFLICT`. A value
   * over {@link MAX_VALUE_BYTES} is refused with `GALAXY_E_TOO_LARGE`, writing nothing.
   * Resolves with the new version.
   */
  put(key: string, value: string, options?: { expectedVersion?: number }): Promise<number>;
  /** Writes a key that is deleted when this coordinator's session ends (close or crash). */
  putEphemeral(key: string, value: string): Promise<void>;
  /** Deletes `key` (and with `recursive`, everything under it). Deleting a missing key is not an error. */
  delete(key: string, options?: { expectedVersion?: number; recursive?: boolean }): Promise<void>;
  /** The direct children's names of `prefix` (not full keys), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Calls `onChange` for every later change of `key` or of any key under it (create, write,
   * delete), in order per key. Changes made by other processes are seen too (the local backend
   * polls; within one process it is immediate).
   */
  watch(prefix: string, onChange: (change: KeyChange) => void): Unwatch;
  /**
   * Contends for leadership of `group` under the name `candidate`; resolves once this process
   * leads. Candidates queue in arrival order; the next one leads when the leader's session ends.
   */
  elect(group: string, candidate: string): Promise<Leadership>;
  /** The current leader's candidate name of `group`, if any. */
  leader(group: string): Promise<string | undefined>;
  /** Ends the session: ephemeral keys go, leadership is lost, watches stop. */
  close(): Promise<void>;
}
