/**
 * Batch specs are read with the same machinery as job specs: every problem at once, each as
 * `file:line:col: path: message`, unknown fields named with a likely intended one; defaults filled;
 * `maxRetries: 0` kept as "no retries"; a spec from the API is held to the same rules.
 */
import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../../core/errors.js';
import { BatchJobSpec } from '../../../proto/gen/galaxy/v1/batch.js';
import { Volume, Volume_Kind } from '../../../proto/gen/galaxy/v1/common.js';
import { batchSpecFromProto, parseBatchSpec, specToProto } from './parse.js';

/** The message of the GALAXY_E_SPEC_INVALID that `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isGalaxyError(error, 'GALAXY_E_SPEC_INVALID')) return error.detail;
    throw error;
  }
  throw new Error('expected GALAXY_E_SPEC_INVALID');
}

describe('parseBatchSpec', () => {
  it('fills defaults and reads quantities as people write them', () => {
    const spec = parseBatchSpec('name: report\ncommand: ./run.sh\n', 'report.yaml');
    expect(spec).toMatchObject({
      name: 'report',
      completions: 1,
      maxRetries: 3,
      backoffS: 1,
      deadlineS: 0,
      band: 'batch',
      pool: 'default',
      resources: { cpus: 100, mem: 32 * 1024 ** 2, disk: 0, gpus: 0 },
      limits: { cpuExcess: false, memSoft: 0 },
    });
    expect(spec.parallelism).toBeUndefined();
    expect(specToProto(spec).parallelism).toBe(1);
    const sized = parseBatchSpec(
      [
        'name: big',
        'command: "true"',
        'completions: 100',
        'parallelism: 10',
        'resources: { cpus: 500m, mem: 1.5Gi, disk: 2Gi }',
        'limits: { netTxBps: 10M, readBps: 1Mi }',
      ].join('\n'),
    );
    expect(sized.resources).toEqual({ cpus: 500, mem: 1.5 * 1024 ** 3, disk: 2 * 1024 ** 3, gpus: 0 });
    expect(sized.limits.netTxBps).toBe(10_000_000);
    expect(sized.limits.readBps).toBe(1024 ** 2);
    expect(parseBatchSpec('name: a\ncommand: x\nresources: { cpus: 2 }').resources.cpus).toBe(2000);
  });

  it('keeps maxRetries: 0 as no retries', () => {
    expect(parseBatchSpec('name: a\ncommand: x\nmaxRetries: 0').maxRetries).toBe(0);
    expect(specToProto(parseBatchSpec('name: a\ncommand: x\nmaxRetries: 0')).maxRetries).toBe(0);
  });

  it('names every problem with its line, and a misspelled field with the one meant', () => {
    const text = [
      'name: a..b',
      'comand: echo hi',
      'completions: 0',
      'parallelism: -1',
      'band: urgent',
      'resources:',
      '  cpus: lots',
      '  memory: 1Gi',
      'schedule:',
      '  cron: "61 * * * *"',
      '  timeZone: Mars/Base',
      '  concurrencyPolicy: forbid',
    ].join('\n');
    expect(refusal(() => parseBatchSpec(text, 'job.yaml')).split('\n')).toEqual([
      'job.yaml:1:1: name: must not contain ".."',
      'job.yaml:1:1: command: is required (a string)',
      'job.yaml:2:1: comand: unknown field "comand" (did you mean "command"?)',
      'job.yaml:3:1: completions: Too small: expected number to be >=1',
      'job.yaml:4:1: parallelism: Too small: expected number to be >=1',
      'job.yaml:5:1: band: Invalid option: expected one of "batch"|"best-effort"',
      'job.yaml:7:3: resources.cpus: cannot read "lots" as cpus (try 0.5 or 500m)',
      'job.yaml:8:3: resources.memory: unknown field "memory"',
      'job.yaml:11:3: schedule.timeZone: is not a time zone (an IANA name such as Europe/Berlin or UTC)',
      'job.yaml:12:3: schedule.concurrencyPolicy: Invalid option: expected one of "Allow"|"Forbid"|"Replace"',
    ]);
  });

  it('checks the cron expression once the rest of the schedule is valid', () => {
    expect(refusal(() => parseBatchSpec('name: a\ncommand: x\nschedule: { cron: "61 * * * *" }', 'c.yaml'))).toBe(
      'c.yaml:3:13: schedule.cron: Invalid value for minute: 61',
    );
    expect(refusal(() => parseBatchSpec('name: a\ncommand: x\nschedule: { cron: "0 0 30 2 *" }', 'c.yaml'))).toBe(
      'c.yaml:3:13: schedule.cron: never runs',
    );
    const cron = parseBatchSpec(
      'name: nightly\ncommand: x\nschedule:\n  cron: "30 2 * * *"\n  timeZone: Europe/Berlin',
    );
    expect(cron.schedule).toEqual({
      cron: '30 2 * * *',
      timeZone: 'Europe/Berlin',
      concurrencyPolicy: 'Allow',
      startingDeadlineS: 0,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      suspend: false,
    });
  });

  it('holds a spec from the API to the same rules, naming fields without lines', () => {
    const proto = BatchJobSpec.fromPartial({
      name: 'x',
      command: ' ',
      completions: 2,
      band: 'urgent',
      resources: { cpus: -5, mem: 0, disk: 0, gpus: 0, ports: [{ begin: 80, end: 80 }] },
    });
    expect(refusal(() => batchSpecFromProto(proto)).split('\n')).toEqual([
      'spec: command: is empty',
      'spec: band: Invalid option: expected one of "batch"|"best-effort"',
      'spec: resources.cpus: cannot read "-5m" as cpus (try 0.5 or 500m)',
      'spec: resources.ports: unknown field "ports"',
    ]);
    // proto3's zeros are "unset": defaults apply; max_retries has presence.
    const ok = batchSpecFromProto(BatchJobSpec.fromPartial({ name: 'y', command: 'true', maxRetries: 0 }));
    expect(ok).toMatchObject({ completions: 1, maxRetries: 0, backoffS: 1, band: 'batch', pool: 'default' });
    expect(batchSpecFromProto(BatchJobSpec.fromPartial({ name: 'y', command: 'true' })).maxRetries).toBe(3);
    // A stored spec reads back the same.
    const stored = specToProto(ok);
    expect(specToProto(batchSpecFromProto(stored))).toEqual(stored);
  });

  it('takes volumes (binds read-only unless said otherwise) and refuses paths no agent may bind', () => {
    const text = `name: copy
command: cp in/x out/
volumes:
  - { kind: bind, hostPath: /srv/in, path: in }
  - { kind: bind, hostPath: /srv/out, path: out, readOnly: false }
  - { kind: tmpfs, path: /scratch, size: 16Mi }
`;
    const spec = parseBatchSpec(text, 'copy.yaml');
    const proto = specToProto(spec);
    expect(proto.volumes).toEqual([
      Volume.fromPartial({ kind: Volume_Kind.BIND, hostPath: '/srv/in', path: 'in', readOnly: true }),
      Volume.fromPartial({ kind: Volume_Kind.BIND, hostPath: '/srv/out', path: 'out', readOnly: false }),
      Volume.fromPartial({ kind: Volume_Kind.TMPFS, path: '/scratch', sizeBytes: 16 * 1024 ** 2 }),
    ]);
    expect(specToProto(batchSpecFromProto(proto)), 'the API reads the same volumes back').toEqual(proto);
    const bad = BatchJobSpec.fromPartial({
      name: 'x',
      command: 'true',
      volumes: [
        Volume.fromPartial({ kind: Volume_Kind.BIND, hostPath: '/etc', path: 'etc' }),
        Volume.fromPartial({ kind: Volume_Kind.TMPFS, path: '../up', sizeBytes: 1 }),
      ],
    });
    expect(refusal(() => batchSpecFromProto(bad)).split('\n')).toEqual([
      'spec: volumes[0].hostPath: host path /etc is under /etc, which is never bound into containers',
      'spec: volumes[1].path: path "../up" must be relative to the sandbox (no empty, . or .. segments) or absolute',
    ]);
  });
});
