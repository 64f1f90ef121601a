/** Usage per user over time, minute by minute, from the accounting ledger. */
import type { Api } from '../api';
import { LineChart } from '../charts';
import { usePoll } from '../hooks';
import type { UsagePoint } from '../types';
import { Failure } from './shared';

export function Usage(props: { api: Api }) {
  const usage = usePoll(
    () => props.api.get<{ minutes: number; series: Record<string, UsagePoint[]> }>('/usage?minutes=30'),
    15_000,
  );
  const series = usage.data?.series ?? {};
  const by = (f: (p: UsagePoint) => number) =>
    Object.fromEntries(
      Object.entries(series).map(([user, points]) => [user, points.map((p) => [p.at, f(p)] as [number, number])]),
    );
  return (
    <section>
      <h2>Usage per user (last 30 minutes)</h2>
      <Failure error={usage.error} />
      <h3>CPU used (cores, average per minute)</h3>
      <LineChart testid="usage-cpu" unit="cores" series={by((p) => p.cpuMs / 60_000)} />
      <h3>CPU allocated (cores)</h3>
      <LineChart testid="usage-cpu-allocated" unit="cores" series={by((p) => p.allocatedCpuMs / 60_000)} />
      <h3>Memory used (GiB, average per minute)</h3>
      <LineChart testid="usage-mem" unit="GiB" series={by((p) => p.memBs / 60 / 2 ** 30)} />
    </section>
  );
}
