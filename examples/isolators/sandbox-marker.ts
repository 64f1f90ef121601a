/**
 * An example custom isolator: it writes a `CONTAINER` file into each sandbox before the task
 * starts (with the container id and its limits) and reports the sandbox's size as disk usage.
 * Load it with `galaxy agent --isolation cpu,memory,./dist/examples/isolators/sandbox-marker.js`.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, ContainerUsage, Isolator, IsolatorPlugin } from '../../isolators/isolator.js';

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await sizeOf(path) : (await stat(path)).size;
  }
  return total;
}

const isolator: Isolator = {
  name: 'sandbox-marker',
  controllers: [],
  async prepare(c: Container) {
    await writeFile(join(c.sandbox, 'CONTAINER'), `${c.id} cpus=${c.resources.cpus}m mem=${c.resources.mem}\n`);
  },
  async usage(c: Container): Promise<ContainerUsage> {
    return { diskBytes: await sizeOf(c.sandbox) };
  },
};

/** The plugin: metadata plus a factory, as the loader expects. */
const plugin: IsolatorPlugin = {
  kind: 'isolator',
  name: 'sandbox-marker',
  version: '1.0.0',
  galaxyApi: '^1',
  create: () => isolator,
};
export default plugin;
