/**
 * The election helper process of {@link electInHelper}: a small Node process with its own
 * coordinator session and an event loop that does nothing else. It contends for one group, tells
 * its parent when it leads, and:
 *
 * - when its leadership is over (session over, key deleted) it tells its parent; with
 *   `fence: 'exit'` the parent exits at once (code 1) and the helper SIGKILLs it if it is still
 *   there {@link fenceGraceMs} later (at once when the key was deleted: another may lead now),
 *   whatever the parent's main thread is doing;
 * - when its parent is gone (the IPC channel closed: the parent exited, crashed or was killed),
 *   it closes its session at once, so the candidacy goes now rather than when the ensemble
 *   expires the session: a crashed leader is replaced in a moment, not a session timeout later.
 *   The parent cannot act any more, so this is safe.
 */
import { closeSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import type { Coordinator, Leadership } from './coordinator.js';
import { openCoordinator } from './index.js';
import {
  fenceGraceMs,
  HELPER_IPC_FD,
  type ElectionHelperData,
  type FromElectionHelper,
  type ToElectionHelper,
} from './elect-in-helper.js';

if (process.send === undefined) throw new Error('election-helper.js runs as a child process (electInHelper)');
closeInheritedSockets();
const parent = process.ppid;
const data = JSON.parse(process.env.GALAXY_ELECTION ?? '{}') as ElectionHelperData;

function post(message: FromElectionHelper): void {
  if (process.connected) process.send?.(message);
}

function log(msg: string): void {
  writeSync(
    2,
    `${JSON.stringify({ level: 60, name: 'election', group: data.group, candidate: data.candidate, msg })}\n`,
  );
}

/**
 * Closes the sockets this process inherited from its parent: the ZooKeeper C client's are not
 * close-on-exec, and a copy held here keeps the parent's connection open after the parent closed
 * it (and the parent's epoll then reports the old socket's events for a new socket given the
 * same number: its ZooKeeper sessions stopped connecting). Node's own descriptors are no sockets;
 * the IPC channel (`HELPER_IPC_FD`) and stdio stay.
 */
function closeInheritedSockets(): void {
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd <= HELPER_IPC_FD) continue;
    try {
      if (readlinkSync(`/proc/self/fd/${name}`).startsWith('socket:')) closeSync(fd);
    } catch {
      // gone meanwhile (the directory's own descriptor)
    }
  }
}

let coordinator: Coordinator | undefined;
let leadership: Leadership | undefined;
/** Set once the helper leaves (resigned, or its parent gone): checked across awaits. */
const state = { leaving: false };

/** Closes the session (the candidacy goes at once) and exits. */
async function leave(): Promise<void> {
  if (state.leaving) return;
  state.leaving = true;
  await leadership?.resign().catch(() => undefined);
  await coordinator?.close().catch(() => undefined);
  post({ kind: 'resigned' });
  process.exit(0);
}

process.on('message', (message: Partial<ToElectionHelper>) => {
  if (message.kind === 'resign') void leave();
});
/** The fence's SIGKILL, pending while a fenced parent may still exit by itself. */
let fencing: NodeJS.Timeout | undefined;
// The parent is gone: nothing acts for this candidacy any more.
process.on('disconnect', () => {
  clearTimeout(fencing);
  void leave();
});

/** Ends the parent's leadership: it is told, and SIGKILLed unless it has exited within `graceMs`. */
function fence(why: string, graceMs: number): void {
  post({ kind: 'lost', why });
  // Only the process that started this one: a parent that is gone may have left its pid to another.
  const kill = (): void => {
    if (process.ppid !== parent || !process.connected) return;
    log(`leadership lost (${why}): the leader (pid ${parent}) was still connected ${graceMs} ms later: SIGKILL`);
    process.kill(parent, 'SIGKILL');
    void leave();
  };
  if (graceMs <= 0) kill();
  else fencing = setTimeout(kill, graceMs);
}

try {
  coordinator = await openCoordinator(data.url);
  const held = await coordinator.elect(data.group, data.candidate);
  leadership = held;
  if (state.leaving) await held.resign();
  else {
    post({ kind: 'leads' });
    void held.lost.then(() => {
      if (state.leaving) return;
      const zk = coordinator as { session?: AbortSignal; sessionTimeoutMs?: number } | undefined;
      const expired = zk?.session?.aborted === true;
      const why = expired
        ? ((zk.session?.reason as Error | undefined)?.message ?? 'session over')
        : 'its candidate key was deleted';
      // The parent exits on `lost`, and its end closes the channel (then `disconnect` above).
      if (data.fence === 'exit') fence(why, expired ? fenceGraceMs(zk.sessionTimeoutMs ?? 0) : 0);
      else {
        post({ kind: 'lost', why });
        void leave();
      }
    });
  }
} catch (error) {
  if (!state.leaving) post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  void leave();
}
