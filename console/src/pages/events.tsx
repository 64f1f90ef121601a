/** The event stream, live (server-sent events from `/api/v1/events/stream`). */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import { clock } from '../format';
import type { MasterEvent } from '../types';
import { Failure } from './shared';

/** Events kept on the page at most. */
const KEEP = 500;

/** What an event is about: its job and pod, task, agent and state, or a preemption's victims. */
function what(e: MasterEvent): string {
  if (e.preemption)
    return `${e.preemption.frameworkName ?? ''} on ${e.preemption.hostname ?? ''}: ${(e.preemption.victims ?? []).length} victim(s)`;
  const subject = [e.job && e.pod ? `${e.job}/${e.pod}` : e.job, e.taskId, e.agentId].filter((x) => x).join(' ');
  return [subject, e.state ? `→ ${e.state}` : ''].filter((x) => x).join(' ');
}

export function Events(props: { api: Api }) {
  const [events, setEvents] = useState<MasterEvent[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  useEffect(() => {
    const abort = new AbortController();
    setLive(true);
    props.api
      .stream(
        '/events/stream?limit=200',
        (kind, data) => {
          if (kind === 'galaxy-event') setEvents((list) => [...list, data as MasterEvent].slice(-KEEP));
          if (kind === 'galaxy-error') setError(new Error((data as { message?: string }).message ?? 'stream failed'));
        },
        abort.signal,
      )
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        setLive(false);
      });
    return () => {
      abort.abort();
    };
  }, []);
  return (
    <section>
      <h2>
        Events{' '}
        <span class={`state ${live ? 'ok' : 'bad'}`} data-testid="events-live">
          {live ? 'following' : 'stopped'}
        </span>
      </h2>
      <Failure error={error} />
      <table data-testid="events">
        <thead>
          <tr>
            <th>time</th>
            <th>kind</th>
            <th>what</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {[...events].reverse().map((e, i) => (
            <tr key={e.id ?? `${e.time ?? 0}-${i}`}>
              <td>{clock(e.time)}</td>
              <td>{e.kind}</td>
              <td>{what(e)}</td>
              <td>{[e.reason, e.message].filter((x) => x).join(': ')}</td>
            </tr>
          ))}
          {events.length === 0 && (
            <tr>
              <td colSpan={4} class="note">
                no events yet
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
