/**
 * Which host paths a bind volume may come from (docs/security.md, "Host paths"). An agent's
 * operator lists them (`galaxy agent --allowed-host-paths /data,/srv/cache:rw`); a bind volume
 * must lie under one, read-only unless its entry says `rw`. `/`, `/etc`, `/proc`, `/sys`, `/dev`
 * and the agent's work directory (and anything holding it) are never allowed. The same rules run
 * at submit (what can be known without the agent), at ACCEPT (against the agent's advertised
 * list) and on the agent itself, on real paths (symlinks and `..` resolved).
 */
import { posix } from 'node:path';
import { GalaxyError } from './errors.js';
import type { HostPath } from '../proto/gen/galaxy/v1/common.js';

/** Host directories no bind volume may be, or be under. */
export const NEVER_ALLOWED: readonly string[] = ['/etc', '/proc', '/sys', '/dev'];

/** True when `path` is `dir` or lies under it (both absolute and normal). */
export function isUnder(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/** Why `path` is not an absolute, normal path (no `.`, `..`, `//` or trailing `/`), or undefined. */
export function notNormal(path: string): string | undefined {
  if (!path.startsWith('/')) return 'is not absolute';
  if (path.length > 4096) return 'is longer than 4096 characters';
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.split('/').some((segment) => segment === '..' || segment === '.'))
    return 'has a . or .. segment (name the real path)';
  if (posix.normalize(path) !== path || (path.length > 1 && path.endsWith('/')))
    return 'is not in normal form (no // or trailing /)';
  return undefined;
}

/**
 * Why `path` may never be a bind volume's source (or an allowed host path), or undefined: `/`,
 * under `/etc`, `/proc`, `/sys` or `/dev`, or the agent's `workDir`, under it, or holding it.
 */
export function neverAllowed(path: string, workDir?: string): string | undefined {
  if (path === '/') return 'is the host\'s root "/"';
  const system = NEVER_ALLOWED.find((dir) => isUnder(path, dir));
  if (system !== undefined) return `is under ${system}, which is never bound into containers`;
  if (workDir !== undefined && (isUnder(path, workDir) || isUnder(workDir, path)))
    return `holds or is inside the agent's work directory ${workDir}`;
  return undefined;
}

/**
 * Parses `--allowed-host-paths` (`path[:rw|:ro],…`). Each path must be absolute and normal and
 * not {@link neverAllowed}; `rw` lets bind volumes under it be writable. Throws
 * `GALAXY_E_INVALID_ARGUMENT` naming the bad entry.
 */
export function parseAllowedHostPaths(spec: string, workDir?: string): HostPath[] {
  const out: HostPath[] = [];
  for (const raw of spec.split(',').map((s) => s.trim())) {
    if (raw === '') continue;
    const match = /^(.*?)(?::(rw|ro))?$/.exec(raw);
    const path = match?.[1] ?? raw;
    const bad = notNormal(path) ?? neverAllowed(path, workDir);
    if (bad !== undefined)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `--allowed-host-paths: "${raw.slice(0, 200)}" ${bad}; list real directories such as /data or /srv/cache:rw`,
      );
    out.push({ path, writable: match?.[2] === 'rw' });
  }
  return out;
}

/**
 * Why a bind volume of `hostPath` (`readOnly` or not) is refused by `allowed`, or undefined when
 * it may be bound. `hostPath` must already be real on the agent; elsewhere it is taken as given.
 */
export function bindDenial(
  hostPath: string,
  readOnly: boolean,
  allowed: readonly HostPath[],
  workDir?: string,
): string | undefined {
  const bad = notNormal(hostPath) ?? neverAllowed(hostPath, workDir);
  if (bad !== undefined) return `host path ${hostPath.slice(0, 200)} ${bad}`;
  const covering = allowed.filter((entry) => isUnder(hostPath, entry.path));
  if (covering.length === 0) {
    const list = allowed.length === 0 ? 'none' : allowed.map((a) => a.path).join(', ');
    return `host path ${hostPath.slice(0, 200)} is not under the agent's --allowed-host-paths (${list})`;
  }
  if (!readOnly && !covering.some((entry) => entry.writable))
    return `host path ${hostPath.slice(0, 200)} is allowed read-only on this agent; mark the volume read-only, or have the operator allow it with :rw`;
  return undefined;
}

/** Throws `GALAXY_E_HOST_PATH_DENIED` with `where` when {@link bindDenial} refuses the volume. */
export function checkBind(
  where: string,
  hostPath: string,
  readOnly: boolean,
  allowed: readonly HostPath[],
  workDir?: string,
): void {
  const denial = bindDenial(hostPath, readOnly, allowed, workDir);
  if (denial !== undefined) throw new GalaxyError('GALAXY_E_HOST_PATH_DENIED', `${where}: ${denial}`);
}

/** Where in a container's root an absolute volume path may not go. */
const CONTAINER_RESERVED: readonly string[] = ['/proc', '/dev', '/sys'];

/**
 * Why a volume's container `path` is refused, or undefined: relative paths stay inside the
 * sandbox (no `.` or `..` segments); absolute ones name a place in the container's root other
 * than `/` and the kernel's `/proc`, `/dev` and `/sys`.
 */
export function volumePathDenial(path: string): string | undefined {
  if (path.startsWith('/')) {
    const bad = notNormal(path);
    if (bad !== undefined) return `path "${path.slice(0, 80)}" ${bad}`;
    if (path === '/') return 'path "/" would replace the container\'s root';
    const reserved = CONTAINER_RESERVED.find((dir) => isUnder(path, dir));
    if (reserved !== undefined) return `path "${path.slice(0, 80)}" is under the container's ${reserved}`;
    return undefined;
  }
  const segments = path.split('/');
  if (path === '' || segments.some((s) => s === '' || s === '.' || s === '..'))
    return `path "${path.slice(0, 80)}" must be relative to the sandbox (no empty, . or .. segments) or absolute`;
  return undefined;
}
