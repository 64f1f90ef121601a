/**
 * The ZooKeeper client is a native module that only zk:// clusters need: opening any other
 * coordinator (and so `galaxy up`, the CLI, a local master) never loads it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const index = fileURLToPath(new URL('../../dist/core/coordinator/index.js', import.meta.url));

/** Opens `url` in a fresh Node process and lists the native modules it loaded (process.dlopen). */
function nativeModulesLoadedOpening(url: string): string[] {
  const script = `
    const loaded = [];
    const dlopen = process.dlopen;
    process.dlopen = (module, file, ...rest) => { loaded.push(file); return dlopen(module, file, ...rest); };
    const { openCoordinator } = await import(${JSON.stringify(index)});
    try { const c = await openCoordinator(${JSON.stringify(url)}); await c.close(); } catch (error) { loaded.push('error: ' + error.message); }
    console.log(JSON.stringify(loaded));
    process.exit(0);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() ?? '[]') as string[];
}

describe('the ZooKeeper client is loaded only for zk://', () => {
  it('is not loaded to open memory: or local: coordinators', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'galaxy-lazy-zk-'));
    try {
      for (const url of ['memory:', `local:${dir}`]) {
        expect(nativeModulesLoadedOpening(url).filter((f) => /zookeeper/i.test(f))).toEqual([]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is loaded when a zk:// URL is opened', () => {
    // Nothing listens on port 1: the open fails after the client was loaded, which is what counts.
    const loaded = nativeModulesLoadedOpening('zk://127.0.0.1:1/galaxy-lazy?session=1000ms');
    expect(loaded.some((f) => /zookeeper/i.test(f))).toBe(true);
  });
});
