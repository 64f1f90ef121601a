/** Small SVG charts: no chart library, nothing loaded at run time. */

const COLORS = ['#5b8def', '#f0a35b', '#59c18b', '#d9677a', '#a57ee8', '#4fc1c9', '#c9b84f', '#8a96a8'];

/** The colour of series `i`. */
export function color(i: number): string {
  return COLORS[i % COLORS.length] ?? '#888';
}

/** One bar per entry, its length the value over `max` (default: the largest value). */
export function BarChart(props: {
  entries: { label: string; value: number; text: string }[];
  max?: number;
  testid?: string;
}) {
  const max = props.max ?? Math.max(1e-9, ...props.entries.map((e) => e.value));
  const row = 26;
  const height = Math.max(row, props.entries.length * row);
  return (
    <svg class="chart" data-testid={props.testid} viewBox={`0 0 600 ${height}`} role="img">
      {props.entries.map((entry, i) => (
        <g key={entry.label} transform={`translate(0 ${i * row})`}>
          <text x="0" y="17" class="chart-label">
            {entry.label}
          </text>
          <rect x="200" y="5" width={Math.max(1, (320 * entry.value) / max)} height="16" rx="3" fill={color(i)} />
          <text x={208 + (320 * entry.value) / max} y="17" class="chart-value">
            {entry.text}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** Lines over time: one series per name, `points` as [x, y]. */
export function LineChart(props: { series: Record<string, [number, number][]>; unit: string; testid?: string }) {
  const names = Object.keys(props.series);
  const all = names.flatMap((n) => props.series[n] ?? []);
  const xs = all.map(([x]) => x);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const maxY = Math.max(1e-9, ...all.map(([, y]) => y));
  const w = 600;
  const h = 180;
  const px = (x: number) => 40 + ((x - minX) / Math.max(1, maxX - minX)) * (w - 50);
  const py = (y: number) => h - 20 - (y / maxY) * (h - 40);
  return (
    <div>
      <svg class="chart" data-testid={props.testid} viewBox={`0 0 ${w} ${h}`} role="img">
        <line x1="40" y1={h - 20} x2={w - 10} y2={h - 20} class="axis" />
        <text x="2" y="16" class="chart-value">
          {`${Math.round(maxY * 100) / 100} ${props.unit}`}
        </text>
        <text x="40" y={h - 4} class="chart-value">
          {all.length ? new Date(minX * 1000).toLocaleTimeString() : ''}
        </text>
        <text x={w - 90} y={h - 4} class="chart-value">
          {all.length ? new Date(maxX * 1000).toLocaleTimeString() : ''}
        </text>
        {names.map((name, i) => (
          <polyline
            key={name}
            fill="none"
            stroke={color(i)}
            stroke-width="2"
            points={(props.series[name] ?? []).map(([x, y]) => `${px(x)},${py(y)}`).join(' ')}
          />
        ))}
      </svg>
      <div class="legend">
        {names.map((name, i) => (
          <span key={name}>
            <i style={{ background: color(i) }} /> {name}
          </span>
        ))}
      </div>
    </div>
  );
}

/** A used-of-total meter. */
export function Meter(props: { used: number; total: number; text: string }) {
  const fraction = props.total > 0 ? Math.min(1, props.used / props.total) : 0;
  return (
    <div class="meter" title={props.text}>
      <div class="meter-fill" style={{ width: `${fraction * 100}%` }} />
      <span>{props.text}</span>
    </div>
  );
}
