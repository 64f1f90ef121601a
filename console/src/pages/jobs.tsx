/** Service jobs (through the AppMaster): the list, and submitting a new one. */
import { useState } from 'preact/hooks';
import { parse } from 'yaml';
import type { Api } from '../api';
import { usePoll } from '../hooks';
import type { Job } from '../types';
import { Failure } from './shared';

/** A job's update as `3/5 updated`, or its state. */
export function progressText(job: Job): string {
  const u = job.update;
  if (!u || (u.total ?? 0) === 0) return job.state ?? '';
  const what = u.rollingBack ? 'rolled back' : 'updated';
  return `${u.updated ?? 0}/${u.total ?? 0} ${what}${u.paused ? ` · paused (${u.pausedReason ?? ''})` : ''}`;
}

export function Jobs(props: { api: Api; go: (path: string) => void }) {
  const jobs = usePoll(() => props.api.get<{ jobs?: Job[] }>('/jobs'), 2000);
  const [spec, setSpec] = useState('');
  const [error, setError] = useState<Error | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      // YAML or JSON, as `galaxy job submit` takes; the AppMaster validates it.
      const body: unknown = parse(spec);
      const job = await props.api.post<Job>('/jobs', body);
      setSpec('');
      props.go(`/jobs/${job.name ?? ''}`);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <section>
      <h2>Jobs</h2>
      <Failure error={jobs.error} />
      <table data-testid="jobs">
        <thead>
          <tr>
            <th>name</th>
            <th>owner</th>
            <th>state</th>
            <th>version</th>
            <th>pods</th>
            <th>healthy</th>
            <th>update</th>
          </tr>
        </thead>
        <tbody>
          {(jobs.data?.jobs ?? []).map((j) => (
            <tr key={j.name} data-testid={`job-${j.name ?? ''}`}>
              <td>
                <a href={`#/jobs/${j.name ?? ''}`}>{j.name}</a>
              </td>
              <td>{j.owner}</td>
              <td>
                <span class={`state ${j.state === 'running' ? 'ok' : ''}`}>{j.state}</span>
              </td>
              <td>{j.version}</td>
              <td>
                {(j.pods ?? []).length}/{j.replicas ?? 0}
              </td>
              <td>{(j.pods ?? []).filter((p) => p.health === 'healthy').length}</td>
              <td>{progressText(j)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Submit a job</h2>
      <form class="submit" onSubmit={(e) => void submit(e)}>
        <textarea
          data-testid="job-spec"
          rows={14}
          value={spec}
          spellcheck={false}
          placeholder="a job spec, YAML or JSON (schemas/job.schema.json; examples/hello-service/job.yaml)"
          onInput={(e) => {
            setSpec((e.target as HTMLTextAreaElement).value);
          }}
        />
        <button type="submit" data-testid="submit-job">
          Submit
        </button>
        <Failure error={error} />
      </form>
    </section>
  );
}
