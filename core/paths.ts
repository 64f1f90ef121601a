/**
 * Where Galaxy's own files are, whether it runs from `dist/` or from sources under a test runner.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder of Galaxy's package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'tsconfig.build.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Galaxy cannot find its own package.json');
    dir = parent;
  }
  root = dir;
  return dir;
}

/** The built `galaxy` CLI (`dist/cli/main.js`). */
export function galaxyCli(): string {
  return join(packageRoot(), 'dist', 'cli', 'main.js');
}

/** The built AppWorker's own entry point (`dist/frameworks/appmaster/appworker/bin.js`): lighter than the CLI. */
export function appWorkerEntry(): string {
  return join(packageRoot(), 'dist', 'frameworks', 'appmaster', 'appworker', 'bin.js');
}
