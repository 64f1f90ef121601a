/**
 * Benchmark: one full allocation pass of the DRF allocator, as Mesos' allocator benchmarks do.
 *
 * - 10,000 agents × 1,000 active frameworks with unbounded demand, and 20,000 × 2,000; each
 *   framework in its own role (as in Mesos' allocator benchmarks), each agent 16 cpus / 64 GiB /
 *   ports 31000-32000. After each pass everything is recovered, so every pass starts equal.
 * - a "decline" run: every framework declines every offer with a long filter, then the next
 *   pass is timed (Mesos' `DeclineOffers` benchmark); it has to walk past the filters.
 *
 * Prints progress on stderr and, last, one JSON line on stdout. `BENCH_RUNS` sets the number
 * of measured passes (default 7, after 2 warm-up passes).
 */
import { performance } from 'node:perf_hooks';
import type { Allocation, Allocator } from '../allocators/allocator.js';
import { DrfAllocator } from '../allocators/drf/index.js';
import { parseResources } from '../core/resources.js';

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 7));
const WARMUP = 2;
const AGENT = parseResources('cpus:16;mem:64GiB;disk:1TiB;ports:[31000-32000]');

function cluster(agents: number, frameworks: number): Allocator {
  const allocator = new DrfAllocator({});
  for (let i = 0; i < agents; i++) {
    allocator.addAgent(
      { id: `agent-${i}`, hostname: `host-${i}`, total: AGENT, attributes: [], pool: 'default' },
      new Map(),
    );
  }
  for (let i = 0; i < frameworks; i++)
    allocator.addFramework({ id: `fw-${i}`, name: `fw-${i}`, role: `role-${i}` }, new Map(), true);
  return allocator;
}

function giveBack(allocator: Allocator, allocations: Allocation[], refuseSeconds?: number): void {
  for (const a of allocations)
    allocator.recoverResources(
      a.frameworkId,
      a.agentId,
      a.resources,
      refuseSeconds === undefined ? undefined : { refuseSeconds },
    );
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Number((sorted[Math.max(0, i)] ?? 0).toFixed(2));
}

function measure(label: string, agents: number, frameworks: number, decline: boolean): { p50: number; p99: number } {
  const allocator = cluster(agents, frameworks);
  const times: number[] = [];
  for (let run = -WARMUP; run < RUNS; run++) {
    let offered: Allocation[];
    let ms: number;
    if (decline) {
      giveBack(allocator, allocator.allocate(), 1e6);
      const start = performance.now();
      offered = allocator.allocate();
      ms = performance.now() - start;
      giveBack(allocator, offered);
      for (let f = 0; f < frameworks; f++) allocator.reviveOffers(`fw-${f}`);
    } else {
      const start = performance.now();
      offered = allocator.allocate();
      ms = performance.now() - start;
      if (offered.length !== agents) throw new Error(`expected ${agents} offers, got ${offered.length}`);
      giveBack(allocator, offered);
    }
    if (run >= 0) times.push(ms);
    process.stderr.write(`${label} run ${run}: ${ms.toFixed(1)} ms, ${offered.length} offers\n`);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const small = measure('10k x 1k', 10_000, 1_000, false);
const large = measure('20k x 2k', 20_000, 2_000, false);
const declined = measure('decline 10k x 1k', 10_000, 1_000, true);
console.log(
  JSON.stringify({
    bench: 'allocator',
    agents: 10_000,
    frameworks: 1_000,
    p50_ms: small.p50,
    p99_ms: small.p99,
    p50_ms_20k: large.p50,
    p99_ms_20k: large.p99,
    decline_p50_ms: declined.p50,
    runs: RUNS,
  }),
);
