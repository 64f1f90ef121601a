/**
 * Where an archive may be unpacked inside a root directory (a data package's `dest` in the
 * sandbox): the path is resolved on disk with the archive guard's own resolver, following the
 * symlinks already there, so a link planted in the sandbox (`data -> /etc`) cannot redirect it.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GalaxyError } from '../errors.js';
import { isRefusal, resolveInside, type Lookup, type PathNode } from './resolve.js';

/** What is at `path` on disk, without following a final symlink; undefined when nothing is. */
function nodeOnDisk(path: string): PathNode | undefined {
  try {
    const stat = lstatSync(path);
    if (stat.isDirectory()) return { kind: 'dir' };
    if (stat.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(path) };
    return stat.isFile() ? { kind: 'file' } : { kind: 'other' };
  } catch {
    return undefined;
  }
}

/**
 * The real absolute path of `path` (relative to `root`) after following the links on disk, when it
 * stays strictly inside `root`; unpack there rather than at the path as written.
 * @param what names the path in errors (`data package "content"`)
 * @throws GalaxyError GALAXY_E_PACKAGE when it is absolute, is the root itself or leaves it
 */
export function destinationInside(root: string, path: string, what: string): string {
  const base = resolve(root);
  const lookup: Lookup = (segments) => nodeOnDisk(join(base, ...segments));
  const resolved = resolveInside(lookup, [], path, 'refuse');
  if (isRefusal(resolved))
    throw new GalaxyError('GALAXY_E_PACKAGE', `${what}: dest "${path}" leaves the sandbox: ${resolved.refusal}`);
  if (resolved.segments.length === 0)
    throw new GalaxyError('GALAXY_E_PACKAGE', `${what}: dest "${path}" is the sandbox itself; name a directory in it`);
  return join(base, ...resolved.segments);
}
