/** The report's charts and the profile summary. */
import { describe, expect, it } from 'vitest';
import { lineChart } from './svg-chart.js';
import { summarizeProfile, type CpuProfile } from './cpu-profile.js';

describe('lineChart', () => {
  it('draws one polyline per series with a legend, escaping text', () => {
    const svg = lineChart({
      title: 'a < b',
      xLabel: 'x',
      yLabel: 'y',
      x: [0, 1, 2],
      series: [
        { name: 'one', values: [0, 5, 10], color: 'red' },
        { name: 'two', values: [1, NaN, 3], color: 'blue' },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('a &lt; b');
    expect(svg).toContain('>one<');
    // The missing value is left out of the line rather than drawn at 0.
    expect(svg.match(/points="([^"]*)"/g)?.[1]?.split(' ')).toHaveLength(2);
  });
});

describe('summarizeProfile', () => {
  it('sums self and total time per function, without idle time', () => {
    const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 4] },
        { id: 2, callFrame: frame('outer', 'file:///x/dist/master/a.js', 9), children: [3] },
        { id: 3, callFrame: frame('inner', 'file:///x/dist/master/b.js', 0) },
        { id: 4, callFrame: frame('(idle)') },
      ],
      samples: [3, 3, 2, 4, 4, 4],
      timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
      startTime: 0,
      endTime: 6000,
    };
    const summary = summarizeProfile(profile);
    expect(summary.busyMs).toBe(3);
    expect(summary.self[0]).toMatchObject({ where: 'inner (master/b.js:1)', selfMs: 2 });
    expect(summary.total.find((e) => e.where === 'outer (master/a.js:10)')).toMatchObject({
      totalMs: 3,
      totalPct: 100,
    });
  });
});
