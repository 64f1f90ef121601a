/**
 * A line chart as an SVG document: one or more series over a shared x axis, with axes, ticks and
 * a legend. Enough for the replay report's charts; no dependency, no browser.
 */

/** One line. */
export interface Series {
  readonly name: string;
  readonly values: readonly number[];
  readonly color: string;
}

/** What to draw. */
export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: readonly number[];
  readonly series: readonly Series[];
  /** Fixed top of the y axis (e.g. 1 for a utilization); else the data's maximum. */
  readonly yMax?: number;
  /** Format of y tick labels. */
  readonly yFormat?: (v: number) => string;
}

const W = 720;
const H = 300;
const M = { left: 64, right: 16, top: 36, bottom: 44 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A "nice" step for about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

function format(v: number): string {
  return Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v * 100) / 100);
}

/** Renders `spec` as a standalone SVG document. */
export function lineChart(spec: ChartSpec): string {
  const xs = spec.x;
  const xMin = xs[0] ?? 0;
  const xMax = Math.max(xMin + 1, xs.at(-1) ?? 1);
  const dataMax = Math.max(0, ...spec.series.flatMap((s) => s.values.filter(Number.isFinite)));
  const yMax = spec.yMax ?? (dataMax > 0 ? dataMax * 1.05 : 1);
  const px = (x: number): number => M.left + ((x - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - (Math.min(y, yMax) / yMax) * (H - M.top - M.bottom);
  const yFormat = spec.yFormat ?? format;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${escape(spec.title)}</text>`,
  ];
  const yStep = niceStep(yMax, 5);
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${escape(yFormat(y))}</text>`,
    );
  }
  const xStep = niceStep(xMax - xMin, 8);
  for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax; x += xStep) {
    parts.push(
      `<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${H - M.bottom}" y2="${H - M.bottom + 4}" stroke="#333"/>`,
      `<text x="${px(x).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${escape(format(x))}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${escape(spec.xLabel)}</text>`,
    `<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(spec.yLabel)}</text>`,
  );
  spec.series.forEach((series, i) => {
    const points = series.values
      .map((v, j) => (Number.isFinite(v) && xs[j] !== undefined ? `${px(xs[j]).toFixed(1)},${py(v).toFixed(1)}` : ''))
      .filter(Boolean)
      .join(' ');
    parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="1.5" points="${points}"/>`);
    const lx = M.left + 10 + i * 150;
    parts.push(
      `<rect x="${lx}" y="${M.top - 12}" width="12" height="3" fill="${series.color}"/>`,
      `<text x="${lx + 16}" y="${M.top - 8}">${escape(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
