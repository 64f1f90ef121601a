/**
 * Alibaba's GPU trace as the replayer reads it: pods become single-task batch groups with whole
 * GPUs, in arrival order, early long-running pods arriving at the start of the continuous stretch,
 * never-scheduled pods left out; the node list becomes agents with their GPUs.
 */
import { describe, expect, it } from 'vitest';
import { parseMachinesCsv } from '../machines.js';
import { batchSpec, isService } from '../submit.js';
import { alibabaWorkload } from './alibaba2023.js';

const PODS = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
p-0,12000,16384,1,1000,,LS,Running,0,12537496,0
p-1,6000,12288,1,460,,BE,Failed,10000000,10000300,10000010
p-2,8000,8192,0,0,,Burstable,Succeeded,10000005,10000100,10000005
p-3,4000,4096,2,1000,,BE,Pending,10000020,10000900,
p-4,2000,2048,8,1000,,Guaranteed,Running,10050000,10090000,10050003
`;

describe('alibaba2023-gpu pods', () => {
  it('become one batch group each, GPUs whole, bands by QoS, delays and lifetimes from the trace', () => {
    const w = alibabaWorkload(PODS, 'test');
    expect(w.scheduler).toBe('Alibaba');
    expect(w.groups.map((g) => g.name)).toEqual(['a0', 'a1', 'a2', 'a4']);
    const [early, failed, burstable, guaranteed] = w.groups;
    // Created 116 days before the others: arrives when the continuous stretch begins.
    expect(early?.submitS).toBe(10_000_000);
    expect(early?.traceDelaysS).toEqual([0]);
    expect(failed).toMatchObject({ band: 'best-effort', gpus: 1, cpus: 6000, mem: 12288 * 1024 ** 2 });
    expect(failed).toMatchObject({ durationS: 290, exitCode: 1, traceDelaysS: [10], submitS: 10_000_000 });
    expect(burstable).toMatchObject({ band: 'batch', gpus: 0, exitCode: 0, durationS: 95 });
    expect(guaranteed).toMatchObject({ band: 'batch', gpus: 8, traceFirstDelaysS: [3], submitS: 10_050_000 });
    for (const g of w.groups) {
      expect(isService(g)).toBe(false);
      expect(batchSpec(g).resources?.gpus).toBe(g.gpus);
    }
  });

  it('refuses a file that is not the pod list, naming the header it expects', () => {
    expect(() => alibabaWorkload('a,b\n1,2\n', 'x.csv')).toThrow(/GALAXY_E_INVALID_ARGUMENT|header/);
    expect(() => alibabaWorkload(PODS.replace('12000,16384', 'lots,16384'), 'x.csv')).toThrow(/line 2/);
  });
});

describe('alibaba2023-gpu nodes', () => {
  it('become agents with their cpus, memory and GPUs', () => {
    const nodes = `sn,cpu_milli,memory_mib,gpu,model
openb-node-0000,32000,262144,0,
openb-node-0227,96000,786432,8,V100M32
`;
    const machines = parseMachinesCsv(nodes);
    expect(machines.map((m) => [m.info.hostname, m.info.total.cpus, m.info.total.mem, m.info.total.gpus])).toEqual([
      ['openb-node-0000', 32000, 262144 * 1024 ** 2, 0],
      ['openb-node-0227', 96000, 786432 * 1024 ** 2, 8],
    ]);
    expect(parseMachinesCsv(nodes, undefined, 1)).toHaveLength(1);
    expect(() => parseMachinesCsv(`${nodes}bad node,1,2,3,\n`)).toThrow(/line 4/);
  });
});
