import { describe, expect, it } from 'vitest';
import { Limits, Volume, Volume_Kind } from '../../../proto/gen/galaxy/v1/common.js';
import { jobSpec } from './fixtures.js';
import { podLimits, podResources, podVolumes } from './resources.js';

describe('pod resources', () => {
  it('reserves cpu, hard memory, disk and exactly the given ports', () => {
    const spec = jobSpec({
      resources: { cpu: { millicores: '1500m' }, memory: { hard: '1Gi', soft: '512Mi' }, disk: { size: '2Gi' } },
    });
    expect(podResources(spec, [31002, 8080, 31000, 31001])).toEqual({
      cpus: 1500,
      mem: 1024 ** 3,
      disk: 2 * 1024 ** 3,
      gpus: 0,
      ports: [
        { begin: 8080, end: 8080 },
        { begin: 31000, end: 31002 },
      ],
    });
  });

  it('reserves no disk and no ports when none are asked for', () => {
    expect(podResources(jobSpec(), [])).toEqual({ cpus: 500, mem: 256 * 1024 ** 2, disk: 0, gpus: 0, ports: [] });
  });
});

describe('pod limits', () => {
  it('carries every limit of the spec to the isolators', () => {
    const spec = jobSpec({
      resources: {
        cpu: { millicores: '250m', excess: true },
        memory: { hard: '256Mi', soft: '128Mi' },
        disk: { size: '1Gi', readBps: '10Mi', writeBps: '5Mi', readIops: 100, writeIops: 50 },
        blkio: { weight: 300 },
        tcp: { txBps: '10M', rxBps: '20M' },
        pids: 64,
      },
    });
    expect(podLimits(spec)).toEqual({
      cpuExcess: true,
      memSoft: 128 * 1024 ** 2,
      pidsMax: 64,
      blkioWeight: 300,
      readBps: 10 * 1024 ** 2,
      writeBps: 5 * 1024 ** 2,
      readIops: 100,
      writeIops: 50,
      netTxBps: 10_000_000,
      netRxBps: 20_000_000,
    });
  });

  it('leaves the agent defaults when the spec sets no limits', () => {
    expect(podLimits(jobSpec())).toEqual(Limits.create());
  });
});

describe('pod volumes', () => {
  it('turns tmpfs and bind volumes into what the agent mounts', () => {
    const spec = jobSpec({
      volumes: [
        { kind: 'tmpfs', path: 'cache', size: '64Mi' },
        { kind: 'bind', path: 'conf', hostPath: '/srv/web', readOnly: true },
      ],
    });
    expect(podVolumes(spec, 'web-0')).toEqual([
      Volume.fromPartial({ kind: Volume_Kind.TMPFS, path: 'cache', sizeBytes: 64 * 1024 ** 2, readOnly: false }),
      Volume.fromPartial({ kind: Volume_Kind.BIND, path: 'conf', hostPath: '/srv/web', readOnly: true }),
    ]);
  });
});
