/**
 * Where the native container helper is: `native/galaxy-init.c`, compiled by `npm run build` with
 * the system's C compiler into `dist/native/galaxy-init` (scripts/build-native.sh). Containers
 * are started only through it; a machine where it could not be built runs tasks as plain
 * processes (`galaxy up`) or refuses `--isolation` with the fix named.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';

/** The helper's path in this package. */
export function nativeHelperPath(): string {
  return join(packageRoot(), 'dist', 'native', 'galaxy-init');
}

/** True when the helper was built and can be run. */
export function hasNativeHelper(): boolean {
  try {
    accessSync(nativeHelperPath(), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The helper's path; throws a coded error naming the fix when it was not built. */
export function requireNativeHelper(): string {
  if (hasNativeHelper()) return nativeHelperPath();
  throw new GalaxyError(
    'GALAXY_E_INVALID_ARGUMENT',
    `containers need the native helper ${nativeHelperPath()}, which was not built: install a C compiler and Linux headers (apt-get install gcc libc6-dev linux-libc-dev) and run npm run build`,
  );
}
