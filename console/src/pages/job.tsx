/**
 * One job: its pods (host, phase, version, health, restarts), its rolling update live with
 * pause / continue / rollback, scale, a new version, stop and remove, and its pods' logs.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import { usePoll } from '../hooks';
import type { Info, Job } from '../types';
import { progressText } from './jobs';
import { Failure } from './shared';

export function JobPage(props: { api: Api; name: string; info: Info | undefined; go: (path: string) => void }) {
  const path = `/jobs/${encodeURIComponent(props.name)}`;
  const job = usePoll(() => props.api.get<Job>(path), 1000, [props.name]);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [logPod, setLogPod] = useState<string | undefined>(undefined);
  const [version, setVersion] = useState('');
  const act = async (what: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await what();
      job.refresh();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const j = job.data;
  const u = j?.update;
  const updating = u !== undefined && (u.total ?? 0) > 0;
  const fraction = updating ? (u.updated ?? 0) / Math.max(1, u.total ?? 1) : 1;
  const spec = (): Record<string, unknown> => JSON.parse(j?.specJson ?? '{}') as Record<string, unknown>;
  return (
    <section>
      <h2>
        Job {props.name}{' '}
        <span class="state" data-testid="job-state">
          {j?.state}
        </span>
      </h2>
      <Failure error={job.error} />
      {j && (
        <>
          <p>
            owner {j.owner} · version <b data-testid="job-version">{j.version}</b> · revision {j.revision} ·{' '}
            {j.replicas} replicas {j.message && `· ${j.message}`}
          </p>
          <div class="update" data-testid="update">
            <div class="progress">
              <div
                class={`progress-fill ${u?.paused ? 'paused' : ''} ${u?.rollingBack ? 'back' : ''}`}
                style={{ width: `${fraction * 100}%` }}
              />
              <span data-testid="update-progress">{updating ? progressText(j) : 'no update in progress'}</span>
            </div>
            <button
              data-testid="pause"
              disabled={!updating || u.paused}
              onClick={() => void act(() => props.api.post(`${path}/pause`))}
            >
              Pause
            </button>
            <button
              data-testid="continue"
              disabled={!updating || !u.paused}
              onClick={() => void act(() => props.api.post(`${path}/continue`))}
            >
              Continue
            </button>
            <button
              data-testid="rollback"
              disabled={!updating || u.rollingBack}
              onClick={() => void act(() => props.api.post(`${path}/rollback`))}
            >
              Rollback
            </button>
            <button
              data-testid="promote"
              disabled={!updating || !u.paused || !u.canary}
              onClick={() => void act(() => props.api.post(`${path}/promote`))}
            >
              Promote
            </button>
            <button
              data-testid="abort"
              disabled={!updating || !u.canary || u.rollingBack}
              onClick={() => void act(() => props.api.post(`${path}/abort`))}
            >
              Abort
            </button>
          </div>
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              const current = spec();
              const pkg = { ...(current.package as Record<string, unknown>), version };
              void act(() => props.api.put(path, { ...current, package: pkg }));
            }}
          >
            <input
              data-testid="new-version"
              placeholder="new package version"
              value={version}
              onInput={(e) => {
                setVersion((e.target as HTMLInputElement).value);
              }}
            />
            <button type="submit" data-testid="update-version" disabled={version === ''}>
              Roll out
            </button>
            <button
              type="button"
              data-testid="scale-up"
              onClick={() => void act(() => props.api.post(`${path}/scale`, { replicas: (j.replicas ?? 0) + 1 }))}
            >
              Scale +1
            </button>
            <button
              type="button"
              data-testid="scale-down"
              disabled={(j.replicas ?? 0) === 0}
              onClick={() =>
                void act(() => props.api.post(`${path}/scale`, { replicas: Math.max(0, (j.replicas ?? 0) - 1) }))
              }
            >
              Scale −1
            </button>
            <button type="button" data-testid="stop" onClick={() => void act(() => props.api.post(`${path}/stop`))}>
              Stop
            </button>
            <button
              type="button"
              class="danger"
              data-testid="remove"
              onClick={() => {
                if (confirm(`Remove job ${props.name}?`))
                  void act(() =>
                    props.api.delete(path).then(() => {
                      props.go('/jobs');
                    }),
                  );
              }}
            >
              Remove
            </button>
          </form>
          <Failure error={error} />
          <table data-testid="pods">
            <thead>
              <tr>
                <th>pod</th>
                <th>host</th>
                <th>phase</th>
                <th>version</th>
                <th>revision</th>
                <th>health</th>
                <th>restarts</th>
                <th>ports</th>
                <th>message</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(j.pods ?? []).map((p) => (
                <tr key={p.podId} data-testid="pod-row">
                  <td>{p.podId}</td>
                  <td>{p.hostname}</td>
                  <td>
                    <span class={`state ${p.phase === 'running' ? 'ok' : ''}`}>{p.phase}</span>
                  </td>
                  <td>{p.version}</td>
                  <td>{p.revision ?? 0}</td>
                  <td>
                    <span class={`state ${p.health === 'healthy' ? 'ok' : p.health === 'unhealthy' ? 'bad' : ''}`}>
                      {p.health}
                    </span>
                  </td>
                  <td>{p.restarts ?? 0}</td>
                  <td>
                    {Object.entries(p.ports ?? {})
                      .map(([n, port]) => `${n}:${port}`)
                      .join(' ')}
                  </td>
                  <td>{p.message}</td>
                  <td>
                    <button
                      data-testid="logs"
                      onClick={() => {
                        setLogPod(p.podId);
                      }}
                    >
                      Logs
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {(j.pending ?? []).length > 0 && (
            <p class="pending">
              pending: {(j.pending ?? []).map((r) => `${r.reason ?? ''} (${r.hosts ?? 0} hosts)`).join('; ')}
            </p>
          )}
          {logPod && <LogViewer api={props.api} job={props.name} pod={logPod} info={props.info} />}
        </>
      )}
    </section>
  );
}

/** Characters of a pod's log kept on the page (the newest). */
const LOG_KEEP = 256 * 1024;

/**
 * A pod's log, followed: the last 200 lines of its stdout or stderr, then what it writes, from the
 * master's `/api/v1/jobs/:name/pods/:pod/logs` (server-sent events).
 */
function LogViewer(props: { api: Api; job: string; pod: string; info: Info | undefined }) {
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const [text, setText] = useState('');
  const [state, setState] = useState<'following' | 'ended' | 'failed'>('following');
  const [error, setError] = useState<Error | undefined>(undefined);
  useEffect(() => {
    if (!props.info?.features.logs) return;
    const abort = new AbortController();
    setText('');
    setError(undefined);
    setState('following');
    const path = `/jobs/${encodeURIComponent(props.job)}/pods/${encodeURIComponent(props.pod)}/logs?stream=${stream}`;
    props.api
      .stream(
        path,
        (kind, data) => {
          if (kind === 'galaxy-log') {
            const chunk = data as { text?: string; gap?: boolean };
            setText((t) =>
              (t + (chunk.gap ? '\n[… output rotated away …]\n' : '') + (chunk.text ?? '')).slice(-LOG_KEEP),
            );
          }
          if (kind === 'galaxy-log-end') setState('ended');
          if (kind === 'galaxy-error') {
            setState('failed');
            setError(new Error((data as { message?: string }).message ?? 'the log stream failed'));
          }
        },
        abort.signal,
      )
      .catch((e: unknown) => {
        if (abort.signal.aborted) return;
        setState('failed');
        setError(e instanceof Error ? e : new Error(String(e)));
      });
    return () => {
      abort.abort();
    };
  }, [props.job, props.pod, stream, props.info?.features.logs]);
  if (!props.info?.features.logs)
    return (
      <div class="logs" data-testid="log-viewer">
        <h3>Log of {props.pod}</h3>
        <p class="note" data-testid="logs-unavailable">
          This server does not serve logs (it reaches no AppMaster). Use{' '}
          <code>
            galaxy logs {props.job} {props.pod}
          </code>
          .
        </p>
      </div>
    );
  return (
    <div class="logs" data-testid="log-viewer">
      <h3>
        Log of {props.pod}{' '}
        <select
          data-testid="log-stream"
          value={stream}
          onChange={(e) => {
            setStream((e.target as HTMLSelectElement).value === 'stderr' ? 'stderr' : 'stdout');
          }}
        >
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>{' '}
        <span class={`state ${state === 'failed' ? 'bad' : 'ok'}`} data-testid="log-state">
          {state}
        </span>
      </h3>
      <Failure error={error} />
      <pre data-testid="log-text">{text}</pre>
    </div>
  );
}
