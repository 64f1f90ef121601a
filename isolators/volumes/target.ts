/**
 * Where a volume appears in its container: a relative path is inside the sandbox, an absolute one
 * is that path in the container's root. The volumes isolator places mounts with it.
 */
import { posix } from 'node:path';

/** The container path of volume `path` (relative: inside the sandbox; absolute: in the root). */
export function volumeTarget(sandbox: string, path: string): string {
  return path.startsWith('/') ? path : posix.join(sandbox, path);
}
