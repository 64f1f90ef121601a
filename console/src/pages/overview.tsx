/** The cluster at a glance: agents with used and free resources and disks, and the DRF shares. */
import type { Api } from '../api';
import { BarChart, Meter } from '../charts';
import { bytes, cores, percent, short } from '../format';
import { usePoll } from '../hooks';
import type { Agent, AgentDisk, MediumTotal, Shares } from '../types';
import { Failure } from './shared';

export function Overview(props: { api: Api }) {
  const agents = usePoll(() => props.api.get<{ agents?: Agent[]; media?: MediumTotal[] }>('/agents'), 2000);
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
      <MediumTotals media={agents.data?.media ?? []} />
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
            <th title="named disks (--disks, --disks-from): used by volumes / capacity">disks</th>
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
                <td data-testid="agent-disks">
                  <Disks disks={a.disks ?? []} />
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

/** An agent's named disks, one meter each: `ssd1 · ssd 48 MiB / 256 MiB`; `-` when it has none. */
function Disks(props: { disks: AgentDisk[] }) {
  if (props.disks.length === 0) return <span>-</span>;
  return (
    <div class="meters">
      {props.disks.map((d) => (
        <Meter
          key={d.name}
          used={d.used ?? 0}
          total={d.capacity ?? 0}
          text={`${d.name ?? ''} · ${d.medium ?? ''} ${bytes(d.used)} / ${bytes(d.capacity)}`}
        />
      ))}
    </div>
  );
}

/** The cluster's named disks per medium: `ssd: 2 disks, 48 MiB used of 512 MiB, 464 MiB free`. */
function MediumTotals(props: { media: MediumTotal[] }) {
  if (props.media.length === 0) return null;
  return (
    <ul class="summary media" data-testid="medium-totals">
      {props.media.map((m) => (
        <li key={m.medium} data-testid="medium-total">
          {m.medium}: {m.disks ?? 0} disk{m.disks === 1 ? '' : 's'}, {bytes(m.used)} used of {bytes(m.capacity)},{' '}
          {bytes(m.free)} free
        </li>
      ))}
    </ul>
  );
}
