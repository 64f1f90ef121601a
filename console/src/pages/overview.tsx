/** The cluster at a glance: agents with used and free resources, and the DRF shares. */
import type { Api } from '../api';
import { BarChart, Meter } from '../charts';
import { bytes, cores, percent, short } from '../format';
import { usePoll } from '../hooks';
import type { Agent, Shares } from '../types';
import { Failure } from './shared';

export function Overview(props: { api: Api }) {
  const agents = usePoll(() => props.api.get<{ agents?: Agent[] }>('/agents'), 2000);
  const shares = usePoll(() => props.api.get<Shares>('/shares'), 2000);
  const list = agents.data?.agents ?? [];
  const pools = new Set(list.map((a) => a.info?.pool ?? 'default'));
  return (
    <section>
      <h2>Agents</h2>
      <Failure error={agents.error} />
      <p class="summary" data-testid="cluster-summary">
        {list.length} agent{list.length === 1 ? '' : 's'} in {pools.size} pool{pools.size === 1 ? '' : 's'},{' '}
        {list.filter((a) => a.active).length} connected
      </p>
      <table data-testid="agents">
        <thead>
          <tr>
            <th>host</th>
            <th>id</th>
            <th>pool</th>
            <th>labels</th>
            <th>state</th>
            <th>cpu used / total</th>
            <th>memory used / total</th>
            <th>disk used / total</th>
            <th>tasks</th>
            <th title="held by tasks on revocable resources / lent by the agent (--oversubscribe)">revocable</th>
          </tr>
        </thead>
        <tbody>
          {list.map((a) => {
            const total = a.info?.total ?? {};
            const used = a.used ?? {};
            const labels = [
              ...(a.info?.attributes ?? []).map((l) => `${l.key ?? ''}:${l.value ?? ''}`),
              ...(a.labels ?? []),
            ];
            return (
              <tr key={a.info?.id} data-testid="agent-row">
                <td>{a.info?.hostname}</td>
                <td title={a.info?.id}>{short(a.info?.id)}</td>
                <td>{a.info?.pool || 'default'}</td>
                <td>
                  {labels.map((l) => (
                    <span class="tag" key={l}>
                      {l}
                    </span>
                  ))}
                </td>
                <td>
                  <span class={`state ${a.active ? 'ok' : 'bad'}`}>
                    {a.active ? a.mode || 'online' : 'disconnected'}
                  </span>
                </td>
                <td>
                  <Meter
                    used={used.cpus ?? 0}
                    total={total.cpus ?? 0}
                    text={`${cores(used.cpus)} / ${cores(total.cpus)} (free ${cores((total.cpus ?? 0) - (used.cpus ?? 0))})`}
                  />
                </td>
                <td>
                  <Meter
                    used={used.mem ?? 0}
                    total={total.mem ?? 0}
                    text={`${bytes(used.mem)} / ${bytes(total.mem)}`}
                  />
                </td>
                <td>
                  <Meter
                    used={used.disk ?? 0}
                    total={total.disk ?? 0}
                    text={`${bytes(used.disk)} / ${bytes(total.disk)}`}
                  />
                </td>
                <td>{a.tasks ?? 0}</td>
                <td data-testid="agent-revocable">
                  {a.revocableEstimate?.cpus || a.revocableUsed?.cpus
                    ? `${cores(a.revocableUsed?.cpus)} / ${cores(a.revocableEstimate?.cpus)} · ${bytes(a.revocableUsed?.mem)} / ${bytes(a.revocableEstimate?.mem)}`
                    : '-'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div class="columns">
        <div>
          <h2>Dominant share per role</h2>
          <Failure error={shares.error} />
          <BarChart
            testid="role-shares"
            max={1}
            entries={(shares.data?.roles ?? []).map((r) => ({ label: r.role, value: r.share, text: percent(r.share) }))}
          />
        </div>
        <div>
          <h2>Dominant share per framework</h2>
          <BarChart
            testid="framework-shares"
            max={1}
            entries={(shares.data?.frameworks ?? []).map((f) => ({
              label: `${f.name} (${f.owner || '?'})`,
              value: f.dominantShare,
              text: percent(f.dominantShare),
            }))}
          />
        </div>
      </div>
    </section>
  );
}
