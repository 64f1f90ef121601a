/**
 * The cgroup driver interface: one implementation per cgroup version, so that isolators and the
 * containerizer never depend on the layout of the machine. Keys are cgroup v1 file names
 * (`memory.limit_in_bytes`); the v2 driver translates the ones it knows. It lives beside the
 * isolator interface, which hands it to every isolator; the drivers themselves are the agent's
 * (`agent/cgroups/`), so isolators never import from the agent.
 */

/** The controllers Galaxy uses. */
export const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'freezer'] as const;

/** One of {@link CONTROLLERS}. */
export type Controller = (typeof CONTROLLERS)[number];

/** A cgroup driver. Paths are relative to the hierarchy root, e.g. `galaxy-a1/c-42`. */
export interface CgroupDriver {
  /** 1 or 2. */
  readonly version: 1 | 2;
  /** True when the controller is available. */
  available(controller: Controller): boolean;
  /** Creates the cgroup in each controller's hierarchy (parents too). */
  create(path: string, controllers: readonly Controller[]): Promise<void>;
  /** Writes a control file, e.g. `set('memory', path, 'memory.limit_in_bytes', '1048576')`. */
  set(controller: Controller, path: string, key: string, value: string): Promise<void>;
  /** Reads a control file. */
  get(controller: Controller, path: string, key: string): Promise<string>;
  /** The `cgroup.procs` files a process must write its pid to, to join the cgroup in every controller. */
  procsFiles(path: string, controllers: readonly Controller[]): string[];
  /** Pids in the cgroup (of one controller's hierarchy). */
  pids(controller: Controller, path: string): Promise<number[]>;
  /** Freezes (true) or thaws (false) every process in the cgroup. */
  freeze(path: string, frozen: boolean): Promise<void>;
  /** Removes the cgroup from every controller's hierarchy; a cgroup that is already gone is fine. */
  remove(path: string, controllers: readonly Controller[]): Promise<void>;
  /** Names of the child cgroups of `path` (in the first available controller's hierarchy). */
  children(path: string): Promise<string[]>;
  /** True when the cgroup exists in the controller's hierarchy. */
  exists(controller: Controller, path: string): boolean;
}
