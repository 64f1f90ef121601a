/**
 * The peer measurements (`peers/runc.sh`, `crun.sh`, `slurm.sh` of the shared directory) that the
 * benchmarks run in the same run as Galaxy's, so that ratios compare one machine at one moment.
 * The directory is `GALAXY_PEERS_DIR`, or `shared/peers` next to the checkout or one level up
 * (the checkout's path is not assumed: CI checks it out elsewhere).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One peer's JSON line (the fields the benchmarks use). */
export interface PeerResult {
  readonly wall_s?: number;
  readonly ms_per_container?: number;
  readonly containers_per_s?: number;
}

/** The peer script `name`, or undefined when no peers directory has it. */
export function peerScript(name: string): string | undefined {
  const dirs = [
    process.env.GALAXY_PEERS_DIR,
    resolve(process.cwd(), '../shared/peers'),
    resolve(process.cwd(), '../../shared/peers'),
  ];
  for (const dir of dirs) {
    if (dir === undefined || dir === '') continue;
    const script = join(dir, name);
    if (existsSync(script)) return script;
  }
  return undefined;
}

/** Runs peer script `name` with `args` and returns its last JSON line (null when it cannot run). */
export function runPeer(name: string, args: readonly (string | number)[]): PeerResult | null {
  const script = peerScript(name);
  if (script === undefined) {
    process.stderr.write(`no peer script ${name} (set GALAXY_PEERS_DIR)\n`);
    return null;
  }
  try {
    const out = execFileSync('bash', [script, ...args.map(String)], { encoding: 'utf8', timeout: 900_000 });
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as PeerResult;
  } catch (error) {
    process.stderr.write(`${name} failed: ${String(error)}\n`);
    return null;
  }
}

/** `a / b` to two decimals, or null when either is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return Number((a / b).toFixed(2));
}
