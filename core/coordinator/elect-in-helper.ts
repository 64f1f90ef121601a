/**
 * Leader election in a helper process with a ZooKeeper session of its own (issue 16's failover).
 *
 * The `zookeeper` npm client is the single-threaded C client (`libzookeeper_st`) driven by the
 * libuv loop of the thread that opened it: its heartbeats go out and its answers are read only
 * when that loop turns. A master's loop busy for two thirds of the session timeout (a storm of
 * re-registrations, a collection on a loaded machine) made the C client drop its connection, and
 * Galaxy's session rule (`zookeeper-session.ts`) then ended the session while the ensemble still
 * held it: with a 3 s session a 1.8 s stall of the loop ended it every time. A short session, what
 * makes a failover fast, was lost under load. (A worker thread cannot hold it: the client keeps
 * V8 handles in static variables, and a second isolate loading it crashes the process.)
 *
 * Here the candidacy lives in a process whose loop does nothing else, so the main thread's stalls
 * do not cost it its session, and:
 *
 * - **fencing**: with `fence: 'exit'` the process exits with code 1 the moment its main thread
 *   hears that the leadership is over, and the helper SIGKILLs it if it is still there
 *   {@link fenceGraceMs} later (a busy or stopped main thread cannot delay its end). The helper
 *   knows by the session rule, at most two thirds of the session timeout after the ensemble last
 *   heard from it: a third of a timeout before the ensemble can expire it and let another
 *   candidate lead. A deleted candidate key lets another lead at once: the helper SIGKILLs then,
 *   without a grace. If the helper itself dies, the process exits with code 1 (it can no longer
 *   know whether it leads).
 * - **a crashed leader goes at once**: when the parent dies, the helper closes its session, and
 *   the next candidate leads within a moment instead of a session timeout later.
 *
 * The argument in full is in docs/operations.md ("Leader election and fencing").
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { GalaxyError, parseGalaxyError } from '../errors.js';
import { packageRoot } from '../paths.js';
import type { Leadership } from './coordinator.js';

/**
 * What a lost leadership does: `exit` ends the leader's process (code 1, or SIGKILL from the helper
 * when it has not exited within {@link fenceGraceMs}); `notify` only tells it (`lost` resolves).
 */
export type ElectionFence = 'exit' | 'notify';

/** The exit code of a process fenced by its election helper's `lost` message (`fence: 'exit'`). */
export const FENCED_EXIT_CODE = 1;

/**
 * How long the helper waits for a fenced process to exit by itself before it SIGKILLs it: a small
 * part of the third of a session timeout `sessionMs` between the helper's end of the session and
 * the ensemble's earliest expiry of it, at most 250 ms.
 */
export function fenceGraceMs(sessionMs: number): number {
  return Math.min(250, Math.floor(sessionMs / 24));
}

/** The helper's IPC channel: the fourth of its stdio descriptors. */
export const HELPER_IPC_FD = 3;

/** What {@link electInHelper} hands its helper (in `GALAXY_ELECTION`, JSON). */
export interface ElectionHelperData {
  readonly url: string;
  readonly group: string;
  readonly candidate: string;
  readonly fence: ElectionFence;
}

/** Messages from the helper. */
export type FromElectionHelper =
  | { readonly kind: 'leads' }
  | { readonly kind: 'lost'; readonly why: string }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'resigned' };

/** Messages to the helper. */
export interface ToElectionHelper {
  readonly kind: 'resign';
}

/** A candidacy held by a helper process; a {@link Leadership} once it leads. */
export interface HelperCandidacy {
  /** Resolves once this candidate leads; rejects when its candidacy ends before. */
  readonly leading: Promise<Leadership>;
  /** Why the leadership or candidacy ended, once it has. */
  readonly why: () => string | undefined;
  /** Leaves the election (or resigns the leadership); resolves once the helper is gone. */
  withdraw(): Promise<void>;
}

/**
 * Ends this process at once, synchronously (no handler of it runs after this one): its leadership
 * of `group` is over. The reason goes to stderr as a fatal log line first.
 */
function fenced(group: string, why: string): never {
  const msg = `leadership lost (${why}): exiting with code ${FENCED_EXIT_CODE}, a supervisor starts this process again as a standby`;
  process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), name: 'election', group, msg })}\n`);
  process.exit(FENCED_EXIT_CODE);
}

/** The built helper (`dist/core/coordinator/election-helper.js`), also when this module runs from source (tests). */
function helperFile(): string {
  return import.meta.url.endsWith('.js')
    ? new URL('./election-helper.js', import.meta.url).pathname
    : join(packageRoot(), 'dist', 'core', 'coordinator', 'election-helper.js');
}

/**
 * Contends for `group` as `candidate` through a helper process with a coordinator session of its
 * own (`url`, a `zk://` URL; its `session=` is how long a leader cut off from ZooKeeper holds
 * its place).
 */
export function electInHelper(url: string, group: string, candidate: string, fence: ElectionFence): HelperCandidacy {
  const data: ElectionHelperData = { url, group, candidate, fence };
  const child = fork(helperFile(), [], {
    // Not the parent's flags (--cpu-prof, --inspect): the helper is small and stays so.
    execArgv: [],
    env: { ...process.env, GALAXY_ELECTION: JSON.stringify(data) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'], // the IPC channel is fd 3: HELPER_IPC_FD
    serialization: 'json',
  });
  let why: string | undefined;
  let markLost = (): void => undefined;
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const end = (reason: string): void => {
    why ??= reason;
    markLost();
  };
  let withdrawn = false;
  const withdraw = async (): Promise<void> => {
    if (!withdrawn) {
      withdrawn = true;
      end('resigned');
      if (child.connected) child.send({ kind: 'resign' } satisfies ToElectionHelper);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    await gone;
  };
  const leading = new Promise<Leadership>((resolve, reject) => {
    const fail = (error: GalaxyError): void => {
      end(error.message);
      reject(error);
    };
    child.on('message', (message: FromElectionHelper) => {
      if (message.kind === 'leads') resolve({ lost, resign: withdraw });
      else if (message.kind === 'lost' && fence === 'exit' && !withdrawn) fenced(group, message.why);
      else if (message.kind === 'lost') end(message.why);
      else if (message.kind === 'failed')
        fail(parseGalaxyError(message.message) ?? new GalaxyError('GALAXY_E_COORD_UNAVAILABLE', message.message));
    });
    child.once('error', (error) => {
      fail(new GalaxyError('GALAXY_E_COORD_UNAVAILABLE', `the election helper of ${group} failed: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      const reason = `the election helper of ${group} exited (${signal ?? String(code)})`;
      // It held the leadership and vanished without a word: this process cannot know whether it
      // still leads, so it stops as its helper would have made it.
      if (fence === 'exit' && !withdrawn && why === undefined && leadingNow) fenced(group, reason);
      fail(new GalaxyError('GALAXY_E_COORD_UNAVAILABLE', reason));
    });
  });
  let leadingNow = false;
  leading.then(
    () => (leadingNow = true),
    () => undefined,
  );
  return { leading, why: () => why, withdraw };
}
