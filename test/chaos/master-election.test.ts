/**
 * The masters' election on a real ZooKeeper, with real `galaxy master` processes (issue 16): each
 * candidacy lives in an election helper process with its own session (`elect-in-helper.ts`).
 *
 * - A leader killed with SIGKILL is replaced at once (its helper closes the session), not after
 *   the session timeout.
 * - A leader whose main thread is stopped for longer than the session timeout (SIGSTOP: a stall,
 *   a long collection) keeps its leadership, and no standby leads meanwhile.
 * - Fencing: a leader cut off from ZooKeeper exits with code 1 when its helper tells it, before
 *   the ensemble could expire its session, i.e. before any other master could lead; a stopped one,
 *   which cannot exit by itself, is SIGKILLed by its helper instead, as early.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startMasterProcess, type MasterProcess } from '../../bench/failover/master-process.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { FENCED_EXIT_CODE } from '../../core/coordinator/elect-in-helper.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { MASTER_GROUP } from '../../core/leader-locator.js';
import { eventually } from '../helpers/async-queue.js';
import { useZkEnsemble } from '../helpers/zk-fixture.js';

// 6 s: a 3 s session went unanswered by a ZooKeeper starved by a loaded 2-core machine.
const SESSION_MS = 6000;
const zk = useZkEnsemble(1);
const masters: MasterProcess[] = [];
const coordinators: Coordinator[] = [];
let chroot = 0;

afterEach(async () => {
  for (const m of masters.splice(0)) {
    if (m.child.pid !== undefined && m.child.exitCode === null) m.child.kill('SIGCONT');
    await m.kill();
  }
  for (const c of coordinators.splice(0)) await c.close().catch(() => undefined);
});

/** A fresh chroot's URL, with a session of {@link SESSION_MS}. */
function url(): string {
  return `zk://${zk.ensemble().connectString}/failover-election-${process.pid}-${chroot++}?session=${SESSION_MS}ms`;
}

async function master(coordinator: string): Promise<MasterProcess> {
  const m = await startMasterProcess(coordinator, ['--insecure-no-auth']);
  masters.push(m);
  return m;
}

/** A leader and a standby; resolves once the first leads and the second stands by. */
async function pair(): Promise<{ leader: MasterProcess; standby: MasterProcess; watcher: Coordinator }> {
  const coordinator = url();
  const leader = await master(coordinator);
  await eventually(() => leader.ledAt() !== undefined, 20_000, 'the first master to lead');
  const standby = await master(coordinator);
  const watcher = await openCoordinator(coordinator);
  coordinators.push(watcher);
  await eventually(
    async () => (await watcher.list(MASTER_GROUP)).filter((n) => n.startsWith('c-')).length === 2,
    10_000,
    'the standby to stand in line',
  );
  return { leader, standby, watcher };
}

describe('the masters election on ZooKeeper', () => {
  it('replaces a leader killed with SIGKILL at once, not a session timeout later', async () => {
    const { leader, standby, watcher } = await pair();
    const killed = performance.now();
    await leader.kill();
    await eventually(async () => (await watcher.leader(MASTER_GROUP)) === standby.address, 10_000, 'the standby');
    const movedMs = performance.now() - killed;
    // Before the helper, the candidacy stayed until ZooKeeper expired the dead leader's session.
    expect(movedMs).toBeLessThan(SESSION_MS / 2);
    await eventually(() => standby.ledAt() !== undefined, 20_000, 'the standby to serve');
  }, 60_000);

  it('keeps a leader whose main thread stops for twice the session timeout', async () => {
    const { leader, standby, watcher } = await pair();
    const pid = leader.child.pid ?? 0;
    process.kill(pid, 'SIGSTOP');
    const until = performance.now() + 2 * SESSION_MS;
    try {
      while (performance.now() < until) {
        expect(await watcher.leader(MASTER_GROUP)).toBe(leader.address);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(leader.child.exitCode).toBeNull();
    expect(leader.child.signalCode).toBeNull();
    expect(await watcher.leader(MASTER_GROUP)).toBe(leader.address);
    expect(standby.ledAt()).toBeUndefined();
  }, 60_000);

  /** Stops the ZooKeeper server under `leader`; resolves with when it went and when the leader exited. */
  async function cutOff(leader: MasterProcess): Promise<{ cut: number; at: number }> {
    const exited = new Promise<number>((resolve) => {
      leader.child.once('exit', () => {
        resolve(performance.now());
      });
    });
    const cut = performance.now();
    await zk.ensemble().stopNode(0);
    try {
      return { cut, at: await exited };
    } finally {
      await zk.ensemble().startNode(0);
    }
  }

  // These two stop the ZooKeeper server (and start it again).
  it('makes a leader cut off from ZooKeeper exit with code 1 before its session can expire', async () => {
    const { leader } = await pair();
    const { cut, at } = await cutOff(leader);
    // It exited by itself, told by its helper: an operator and a supervisor read exit code 1.
    expect(leader.child.exitCode).toBe(FENCED_EXIT_CODE);
    expect(leader.child.signalCode).toBeNull();
    expect(leader.errors().join('\n')).toMatch(/leadership lost \(.*cut off from ZooKeeper.*\): exiting with code 1/);
    expect(at - cut).toBeLessThan((3 * SESSION_MS) / 4);
  }, 60_000);

  it('kills a stopped leader cut off from ZooKeeper before its session can expire', async () => {
    const { leader } = await pair();
    process.kill(leader.child.pid ?? 0, 'SIGSTOP');
    const { cut, at } = await cutOff(leader);
    // It could not exit by itself: its helper waited 250 ms (fenceGraceMs), then SIGKILLed it.
    expect(leader.child.signalCode).toBe('SIGKILL');
    // The helper's heartbeat keeps its last contact within a quarter of the session timeout of
    // the cut, and the ensemble expires a session no earlier than a timeout after it last heard
    // from it: no other master could lead before cut + 3/4 of the timeout. The leader was gone
    // (the helper ends it two thirds of a timeout after its last contact, plus the grace).
    expect(at - cut).toBeLessThan((3 * SESSION_MS) / 4);
  }, 60_000);
});
