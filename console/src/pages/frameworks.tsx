/** Frameworks (what the caller owns; all for an admin) and the tasks they run. */
import type { Api } from '../api';
import { bytes, cores, percent, short, clock } from '../format';
import { usePoll } from '../hooks';
import type { Framework, Task } from '../types';
import { Failure } from './shared';

export function Frameworks(props: { api: Api }) {
  const frameworks = usePoll(() => props.api.get<{ frameworks?: Framework[] }>('/frameworks'), 2000);
  return (
    <section>
      <h2>Frameworks</h2>
      <Failure error={frameworks.error} />
      <table data-testid="frameworks">
        <thead>
          <tr>
            <th>name</th>
            <th>id</th>
            <th>owner</th>
            <th>roles</th>
            <th>state</th>
            <th>cpu</th>
            <th>memory</th>
            <th>dominant share</th>
            <th>tasks</th>
          </tr>
        </thead>
        <tbody>
          {(frameworks.data?.frameworks ?? []).map((f) => (
            <tr key={f.info?.id}>
              <td>{f.info?.name}</td>
              <td title={f.info?.id}>{short(f.info?.id, 16)}</td>
              <td>{f.owner}</td>
              <td>
                {(f.roleShares ?? []).map((r) => (
                  <span class="tag" key={r.role}>
                    {r.role} {percent(r.share)}
                  </span>
                ))}
              </td>
              <td>
                <span class={`state ${f.active ? 'ok' : 'bad'}`}>
                  {f.active ? (f.suppressed ? 'suppressed' : 'active') : 'failing over'}
                </span>
              </td>
              <td>{cores(f.used?.cpus)}</td>
              <td>{bytes(f.used?.mem)}</td>
              <td>{percent(f.dominantShare)}</td>
              <td>{f.tasks ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Tasks(props: { api: Api }) {
  const tasks = usePoll(() => props.api.get<{ tasks?: Task[] }>('/tasks'), 2000);
  return (
    <section>
      <h2>Tasks</h2>
      <Failure error={tasks.error} />
      <table data-testid="tasks">
        <thead>
          <tr>
            <th>name</th>
            <th>task</th>
            <th>framework</th>
            <th>agent</th>
            <th>role</th>
            <th>state</th>
            <th>cpu</th>
            <th>memory</th>
            <th>last status</th>
          </tr>
        </thead>
        <tbody>
          {(tasks.data?.tasks ?? []).map((t) => (
            <tr key={t.taskId}>
              <td>{t.name}</td>
              <td title={t.taskId}>{short(t.taskId, 20)}</td>
              <td title={t.frameworkId}>{short(t.frameworkId)}</td>
              <td title={t.agentId}>{short(t.agentId)}</td>
              <td>{t.role}</td>
              <td>
                <span class={`state ${t.state === 'TASK_RUNNING' ? 'ok' : ''}`}>
                  {(t.state ?? '').replace('TASK_', '').toLowerCase()}
                </span>
              </td>
              <td>{cores(t.resources?.cpus)}</td>
              <td>{bytes(t.resources?.mem)}</td>
              <td>
                {clock(t.status?.timestamp)} {t.status?.reason}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
