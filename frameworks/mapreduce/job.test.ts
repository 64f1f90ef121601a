/**
 * A MapReduce job's bookkeeping: reduces wait for every map, a map lost while a reduce still
 * needs it runs again (sending the job back to mapping), and a task out of attempts fails the job.
 */
import { describe, expect, it } from 'vitest';
import { MapReduceJobState, type MapReduceJobSpec } from '../../proto/gen/galaxy/v1/mapreduce.js';
import { MapReduceRun } from './job.js';

const spec = (fields: Partial<MapReduceJobSpec> = {}): MapReduceJobSpec => ({
  name: 'wc',
  input: '/in',
  output: '/out',
  maps: 2,
  reduces: 2,
  maxAttempts: 2,
  ...fields,
});

const run = (fields: Partial<MapReduceJobSpec> = {}) =>
  new MapReduceRun(spec(fields), [[{ path: '/in/a', start: 0, end: 5 }], [{ path: '/in/a', start: 5, end: 9 }]], 0);

describe('MapReduceRun', () => {
  it('launches reduces only once every map is ready, and succeeds when every reduce is collected', () => {
    const job = run();
    expect(job.launchable().map((s) => `${s.kind}${s.index}`)).toEqual(['map0', 'map1']);
    const [m0, m1] = job.maps;
    if (!m0 || !m1) throw new Error('no maps');
    expect(job.launch(m0, 'a1', 'h1:1')).toBe('wc.m0.1');
    job.launch(m1, 'a2', 'h2:1');
    expect(job.launchable()).toEqual([]);
    job.mapReady(m0);
    expect(job.launchable()).toEqual([]);
    job.mapReady(m1);
    expect(job.state).toBe(MapReduceJobState.MAPREDUCE_REDUCING);
    const reduces = job.launchable();
    expect(reduces.map((s) => `${s.kind}${s.index}`)).toEqual(['reduce0', 'reduce1']);
    for (const r of reduces) job.launch(r, 'a3', 'h3:1');
    expect(job.reduceDone(reduces[0] ?? m0, '/out/part-r-00000', 3, 10, 5)).toBe(false);
    expect(job.reduceDone(reduces[1] ?? m0, '/out/part-r-00001', 4, 20, 7)).toBe(true);
    expect(job.toProto()).toMatchObject({
      state: MapReduceJobState.MAPREDUCE_SUCCEEDED,
      summary: { distinctWords: 7, totalWords: 30, outputFiles: ['/out/part-r-00000', '/out/part-r-00001'] },
      finishedAt: 0.007,
    });
  });

  it('runs a lost map again while reduces need it, back in the mapping phase', () => {
    const job = run();
    for (const m of job.maps) {
      job.launch(m, 'a1', 'h1:1');
      job.mapReady(m);
    }
    const [r0] = job.launchable();
    if (!r0) throw new Error('no reduce');
    job.launch(r0, 'a2', 'h2:1');
    const m1 = job.maps[1];
    if (!m1) throw new Error('no map');
    expect(job.lost(m1, 'killed', 1)).toBe(true);
    expect(job.state).toBe(MapReduceJobState.MAPREDUCE_MAPPING);
    expect(job.launchable()).toEqual([m1]);
    expect(m1.lostOn).toBe('a1');
    expect(job.launch(m1, 'a3', 'h3:1')).toBe('wc.m1.2');
    // The reduce that ran meanwhile could not fetch from the lost map: it runs again too.
    expect(job.lost(r0, 'map 1 unreachable', 2)).toBe(true);
    job.mapReady(m1);
    expect(job.launchable().map((s) => s.index)).toEqual([0, 1]);
    expect(job.toProto().progress).toMatchObject({ mapReruns: 1, reduceReruns: 1, mapsReady: 2 });
  });

  it('fails the job when a task runs out of attempts; a pending or done task is never lost', () => {
    const job = run({ maxAttempts: 2 });
    const m0 = job.maps[0];
    if (!m0) throw new Error('no map');
    expect(job.lost(m0, 'never launched', 0)).toBe(false);
    job.launch(m0, 'a1', 'h1:1');
    expect(job.lost(m0, 'exit 1', 1)).toBe(true);
    job.launch(m0, 'a1', 'h1:1');
    expect(job.lost(m0, 'exit 1', 2)).toBe(false);
    expect(job.done).toBe(true);
    expect(job.toProto()).toMatchObject({
      state: MapReduceJobState.MAPREDUCE_FAILED,
      message: 'map 0 failed 2 times: exit 1',
    });
    expect(job.launchable()).toEqual([]);
  });
});
