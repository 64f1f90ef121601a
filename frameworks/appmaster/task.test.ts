/**
 * What a pod is given: the AppWorker's environment holds the AppMasters' addresses, the pod's
 * identity and its own pull token, and nothing else — no coordinator address, no user, admin or
 * agent credential (docs/security.md, "No cluster secrets in a pod").
 */
import { describe, expect, it } from 'vitest';
import { JobSpecSchema } from './spec/schema.js';
import { podTask } from './task.js';

const spec = JobSpecSchema.parse({
  name: 'web',
  replicas: 1,
  resources: { cpu: { millicores: '100m' }, memory: { hard: '64Mi' } },
  package: { source: 'file:///pkg.tgz', version: '1', sha256: 'a'.repeat(64) },
  commands: { start: 'sleep 60' },
  env: { MODE: 'prod' },
});
const assignment = {
  job: 'web',
  podId: 'web-0',
  offerId: 'o',
  agentId: 'agent-1',
  hostname: 'h',
  ports: {},
  resources: { cpus: 100, mem: 64 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
};

describe('podTask', () => {
  it("gives the AppWorker the AppMasters' addresses, the pod's identity and its pull token, nothing more", () => {
    const task = podTask(
      'web',
      'web-0',
      'web-0.abc',
      spec,
      assignment,
      {
        argv: ['/usr/bin/node', 'galaxy', 'appworker'],
        appmasters: ['10.0.0.1:5060', '10.0.0.2:5060'],
        podToken: 'p0d',
      },
      'alice',
    );
    expect(task.command?.env).toEqual({
      GALAXY_APPMASTERS: '10.0.0.1:5060,10.0.0.2:5060',
      GALAXY_JOB: 'web',
      GALAXY_POD_ID: 'web-0',
      GALAXY_POD_TOKEN: 'p0d',
    });
    // The job's own env reaches the service through its template, not through the container.
    const values = Object.values(task.command?.env ?? {}).join(' ');
    expect(values).not.toMatch(/zk:\/\/|local:|memory:|GALAXY_TOKEN|prod/);
  });

  it("runs the pod on the job's root filesystem image when the spec names one, and rejects a malformed one", () => {
    const rootfs = { source: 'https://images.example/debian-12.tar.gz', sha256: 'b'.repeat(64) };
    const withImage = JobSpecSchema.parse({ ...spec, container: { rootfs } });
    const worker = { argv: ['/usr/bin/node', 'galaxy', 'appworker'], appmasters: ['10.0.0.1:5060'] };
    expect(podTask('web', 'web-0', 'web-0.abc', withImage, assignment, worker, 'alice').container?.rootfs).toEqual(
      rootfs,
    );
    expect(podTask('web', 'web-0', 'web-0.abc', spec, assignment, worker, 'alice').container?.rootfs).toBeUndefined();
    for (const bad of [
      { ...rootfs, sha256: 'xyz' },
      { ...rootfs, source: 'ftp://images.example/x.tar' },
      { ...rootfs, extra: 1 },
    ])
      expect(JobSpecSchema.safeParse({ ...spec, container: { rootfs: bad } }).success).toBe(false);
  });
});
