/**
 * Leader election, written once on top of the other coordinator operations so that every
 * backend elects the same way. Candidates are ephemeral sequential keys `<group>/c-<seq>` whose
 * value is the candidate's name; the sequence is the group key's version, which every write
 * bumps atomically. The lowest live candidate leads; when its session ends, its key goes and the
 * next one leads.
 */
import { GalaxyError, isGalaxyError } from '../errors.js';
import type { Coordinator, Leadership } from './coordinator.js';
import { checkKey, joinKey } from './keys.js';

/** What an election needs from a backend. */
export type ElectionStore = Pick<Coordinator, 'get' | 'put' | 'putEphemeral' | 'list' | 'watch' | 'delete'>;

const CANDIDATE = /^c-\d{10}$/;

/** The candidate keys' names under `group`, lowest (first in line) first. */
async function candidates(store: ElectionStore, group: string): Promise<string[]> {
  return (await store.list(group)).filter((name) => CANDIDATE.test(name));
}

/**
 * Queues `candidate` for leadership of `group`; resolves once it leads. `session` aborts when the
 * backend's session ends, which ends the candidacy or the leadership.
 */
export async function elect(
  store: ElectionStore,
  group: string,
  candidate: string,
  session: AbortSignal,
): Promise<Leadership> {
  checkKey(group);
  const sequence = await store.put(group, 'election');
  const name = `c-${String(sequence).padStart(10, '0')}`;
  const key = joinKey(group, name);
  let gone = false;
  let wake = (): void => undefined;
  const unwatch = store.watch(group, (change) => {
    if (change.key === key && change.value === undefined) gone = true;
    wake();
  });
  const onSessionEnd = (): void => {
    gone = true;
    wake();
  };
  session.addEventListener('abort', onSessionEnd);
  const ended = (): boolean => gone || session.aborted;
  const stop = (): void => {
    unwatch();
    session.removeEventListener('abort', onSessionEnd);
  };
  try {
    await store.putEphemeral(key, candidate);
    for (;;) {
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const queue = ended() ? [] : await candidates(store, group);
      if (queue[0] === name) break;
      if (ended() || !queue.includes(name)) {
        throw new GalaxyError(
          'GALAXY_E_COORD_UNAVAILABLE',
          `the candidacy of "${candidate}" for ${group} ended before it led (session closed or key deleted)`,
        );
      }
      await changed;
    }
  } catch (error) {
    stop();
    await store.delete(key).catch(() => undefined);
    throw error;
  }
  return leadership(store, key, stop, ended, (fn) => (wake = fn));
}

/** The leadership held through candidate `key`: lost when the key goes or the session ends. */
function leadership(
  store: ElectionStore,
  key: string,
  stop: () => void,
  isGone: () => boolean,
  onWake: (fn: () => void) => void,
): Leadership {
  let ended = false;
  let markLost = (): void => undefined;
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const end = (): void => {
    if (ended) return;
    ended = true;
    stop();
    markLost();
  };
  onWake(() => {
    if (isGone()) end();
  });
  if (isGone()) end();
  return {
    lost,
    resign: async () => {
      if (ended) return;
      try {
        await store.delete(key);
      } catch (error) {
        if (!isGalaxyError(error, 'GALAXY_E_COORD_UNAVAILABLE')) throw error;
      } finally {
        end();
      }
    },
  };
}

/** Every live candidate's name in `group`, in line: the leader first. */
export async function membersOf(store: ElectionStore, group: string): Promise<string[]> {
  checkKey(group);
  const names: string[] = [];
  for (const name of await candidates(store, group)) {
    const entry = await store.get(joinKey(group, name));
    if (entry !== undefined) names.push(entry.value);
  }
  return names;
}

/** The candidate name of the current leader of `group`, if any. */
export async function leaderOf(store: ElectionStore, group: string): Promise<string | undefined> {
  return (await membersOf(store, group))[0];
}
