import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../spec/schema.js';
import { context, jobSpec, offer } from './fixtures.js';
import { placePods, type Placement, type PodDemand } from './place.js';

/** `count` pods of `job`, ids `job-0`, `job-1`, … */
function pods(job: string, spec: JobSpec, count = 1): PodDemand[] {
  return Array.from({ length: count }, (_, i) => ({ job, podId: `${job}-${i}`, spec }));
}

/** Pod id → offer id. */
function where(placement: Placement): Record<string, string> {
  return Object.fromEntries(placement.assignments.map((a) => [a.podId, a.offerId]));
}

describe('placePods: each constraint alone', () => {
  it('keeps a pod in its pool; an offer without a pool is in "default"', () => {
    const offers = [offer({ id: 'o1' }), offer({ id: 'o2', pool: 'web' }), offer({ id: 'o3', pool: 'batch' })];
    expect(where(placePods(pods('a', jobSpec()), offers, context()))).toEqual({ 'a-0': 'o1' });
    expect(where(placePods(pods('b', jobSpec({ pool: 'web' })), offers, context()))).toEqual({ 'b-0': 'o2' });
    const placement = placePods(pods('c', jobSpec({ pool: 'gpu' })), offers, context());
    expect(placement.assignments).toEqual([]);
    expect(placement.pending.get('c')).toEqual([{ reason: 'not in pool "gpu"', hosts: 3 }]);
  });

  it('needs every label, with "*" matching any value of the key', () => {
    const offers = [
      offer({ id: 'o1', attributes: { zone: 'a' } }),
      offer({ id: 'o2', attributes: { zone: 'b', ssd: 'yes' } }),
      offer({ id: 'o3', attributes: { rack: 'r1' } }),
    ];
    const exact = placePods(pods('a', jobSpec({ labels: { zone: 'b' } })), offers, context());
    expect(where(exact)).toEqual({ 'a-0': 'o2' });
    const any = placePods(pods('b', jobSpec({ labels: { zone: '*' } }), 2), offers, context());
    expect(Object.values(where(any)).sort()).toEqual(['o1', 'o2']);
    const none = placePods(pods('c', jobSpec({ labels: { zone: 'a', ssd: '*' } })), offers, context());
    expect(none.pending.get('c')).toEqual([
      { reason: 'missing label zone=a', hosts: 2 },
      { reason: 'missing label ssd=*', hosts: 1 },
    ]);
  });

  it('places bind volumes only on agents whose --allowed-host-paths allow them (read-write only with :rw)', () => {
    const offers = [
      offer({ id: 'o1' }),
      offer({ id: 'o2', allowedHostPaths: [{ path: '/srv', writable: false }] }),
      offer({ id: 'o3', allowedHostPaths: [{ path: '/srv/data', writable: true }] }),
    ];
    const reading = jobSpec({ volumes: [{ kind: 'bind', path: 'in', hostPath: '/srv/data/in' }] });
    expect(Object.values(where(placePods(pods('a', reading, 2), offers, context()))).sort()).toEqual(['o2', 'o3']);
    const writing = jobSpec({ volumes: [{ kind: 'bind', path: 'in', hostPath: '/srv/data/in', readOnly: false }] });
    expect(where(placePods(pods('b', writing), offers, context()))).toEqual({ 'b-0': 'o3' });
    const elsewhere = jobSpec({ volumes: [{ kind: 'bind', path: 'in', hostPath: '/home/x' }] });
    expect(placePods(pods('c', elsewhere), offers, context()).pending.get('c')).toEqual([
      { reason: 'host path /home/x not allowed', hosts: 3 },
    ]);
  });

  it('avoids blacklisted hosts, for the job that blacklisted them only', () => {
    const bad = offer({ id: 'o1', hostname: 'bad' });
    const offers = [bad, offer({ id: 'o2', hostname: 'good', resources: 'cpus:1;mem:1GiB' })];
    const placement = placePods([...pods('a', jobSpec()), ...pods('b', jobSpec())], offers, context({}, ['a@bad']));
    expect(where(placement)).toEqual({ 'a-0': 'o2', 'b-0': 'o1' });
    const stuck = placePods(pods('a', jobSpec()), [bad], context({}, ['a@bad']));
    expect(stuck.pending.get('a')).toEqual([{ reason: 'blacklisted', hosts: 1 }]);
  });

  it("places a job only into offers its context lets it fit (its owner's role), and says so when none fit", () => {
    const offers = [
      { ...offer({ id: 'o1' }), allocationRole: 'bob' },
      { ...offer({ id: 'o2', resources: 'cpus:1;mem:1GiB' }), allocationRole: 'alice' },
    ];
    const owners: Record<string, string> = { a: 'alice', b: 'bob', c: 'carol' };
    const fits = {
      ...context(),
      offerFits: (job: string, o: { allocationRole?: string }) => o.allocationRole === owners[job],
    };
    const placement = placePods(
      [...pods('a', jobSpec()), ...pods('b', jobSpec()), ...pods('c', jobSpec())],
      offers,
      fits,
    );
    expect(where(placement)).toEqual({ 'a-0': 'o2', 'b-0': 'o1' });
    expect(placement.pending.get('c')).toEqual([{ reason: 'no offers (waiting for resources)', hosts: 0 }]);
  });

  it('stops at maxPerHost on a host that already has the job', () => {
    const placement = placePods(
      pods('a', jobSpec({ maxPerHost: 1 })),
      [offer({ id: 'o1', agentId: 'x' })],
      context({ 'a@x': 1 }),
    );
    expect(placement.pending.get('a')).toEqual([{ reason: 'max 1 per host reached', hosts: 1 }]);
  });

  it('needs the cpu, memory and disk to fit, naming the first that does not', () => {
    const spec = jobSpec({
      resources: { cpu: { millicores: '500m' }, memory: { hard: '256Mi' }, disk: { size: '1Gi' } },
    });
    const offers = [
      offer({ id: 'o1', resources: 'cpus:0.4;mem:8GiB;disk:8GiB' }),
      offer({ id: 'o2', resources: 'cpus:4;mem:255MiB;disk:8GiB' }),
      offer({ id: 'o3', resources: 'cpus:4;mem:8GiB;disk:1023MiB' }),
      offer({ id: 'o4', resources: 'cpus:0.1;mem:1MiB;disk:0' }),
    ];
    const placement = placePods(pods('a', spec), offers, context());
    expect(placement.pending.get('a')).toEqual([
      { reason: 'insufficient cpu (needs 500m)', hosts: 2 },
      { reason: 'insufficient disk (needs 1GiB)', hosts: 1 },
      { reason: 'insufficient mem (needs 256MiB)', hosts: 1 },
    ]);
    const exact = placePods(
      pods('a', spec),
      [offer({ id: 'o5', resources: 'cpus:0.5;mem:256MiB;disk:1GiB' })],
      context(),
    );
    expect(where(exact)).toEqual({ 'a-0': 'o5' });
  });

  it('needs fixed ports in the offer and enough ports for the dynamic ones', () => {
    const fixed = jobSpec({ ports: [{ name: 'http', port: 8080 }] });
    const dynamic = jobSpec({ ports: [{ name: 'http' }, { name: 'admin' }] });
    const offers = [offer({ id: 'o1', resources: 'cpus:4;mem:8GiB;ports:[31000]' })];
    expect(placePods(pods('a', fixed), offers, context()).pending.get('a')).toEqual([
      { reason: 'port 8080 taken', hosts: 1 },
    ]);
    expect(placePods(pods('b', dynamic), offers, context()).pending.get('b')).toEqual([
      { reason: 'not enough free ports', hosts: 1 },
    ]);
  });
});

describe('placePods: together', () => {
  it('places on the one host that passes every check and reports the first failing check elsewhere', () => {
    const spec = jobSpec({ pool: 'web', labels: { zone: 'a' }, maxPerHost: 1, ports: [{ name: 'http', port: 8080 }] });
    const offers = [
      offer({ id: 'o1', pool: 'batch', attributes: { zone: 'b' } }),
      offer({ id: 'o2', pool: 'web', attributes: { zone: 'b' } }),
      offer({ id: 'o3', pool: 'web', attributes: { zone: 'a' }, hostname: 'bad' }),
      offer({ id: 'o4', pool: 'web', attributes: { zone: 'a' }, agentId: 'full' }),
      offer({ id: 'o5', pool: 'web', attributes: { zone: 'a' }, resources: 'cpus:0.1;mem:8GiB;ports:[8080]' }),
      offer({ id: 'o6', pool: 'web', attributes: { zone: 'a' }, resources: 'cpus:1;mem:8GiB;ports:[31000-31010]' }),
      offer({ id: 'o7', pool: 'web', attributes: { zone: 'a' }, resources: 'cpus:1;mem:8GiB;ports:[8000-9000]' }),
    ];
    const ctx = context({ 'a@full': 1 }, ['a@bad']);
    const placement = placePods(pods('a', spec, 2), offers, ctx);
    expect(placement.assignments).toEqual([
      {
        podId: 'a-0',
        job: 'a',
        offerId: 'o7',
        agentId: 'agent-o7',
        hostname: 'host-agent-o7',
        resources: { cpus: 500, mem: 256 * 1024 ** 2, disk: 0, gpus: 0, ports: [{ begin: 8080, end: 8080 }] },
        ports: { http: 8080 },
      },
    ]);
    // a-1 finds o7 taken by a-0, so maxPerHost is why on two hosts.
    expect(placement.pending.get('a')).toEqual([
      { reason: 'max 1 per host reached', hosts: 2 },
      { reason: 'blacklisted', hosts: 1 },
      { reason: 'insufficient cpu (needs 500m)', hosts: 1 },
      { reason: 'missing label zone=a', hosts: 1 },
      { reason: 'not in pool "web"', hosts: 1 },
      { reason: 'port 8080 taken', hosts: 1 },
    ]);
    expect(placement.unused).toEqual(['o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
  });
});

describe('placePods: maxPerHost', () => {
  it('counts pods already on the agent and pods placed earlier in the same round', () => {
    const spec = jobSpec({ maxPerHost: 2 });
    const offers = [offer({ id: 'o1', agentId: 'x' }), offer({ id: 'o2', agentId: 'y' })];
    const placement = placePods(pods('a', spec, 4), offers, context({ 'a@x': 1 }));
    const hosts = placement.assignments.map((a) => a.agentId).sort();
    expect(hosts).toEqual(['x', 'y', 'y']);
    expect(placement.pending.get('a')).toEqual([{ reason: 'max 2 per host reached', hosts: 2 }]);
  });

  it('counts two offers of the same agent as one host', () => {
    const offers = [offer({ id: 'o1', agentId: 'x' }), offer({ id: 'o2', agentId: 'x' })];
    const placement = placePods(pods('a', jobSpec({ maxPerHost: 1 }), 2), offers, context());
    expect(where(placement)).toEqual({ 'a-0': 'o1' });
    expect(placement.unused).toEqual(['o2']);
  });

  it('limits each job separately', () => {
    const offers = [offer({ id: 'o1' })];
    const spec = jobSpec({ maxPerHost: 1 });
    const placement = placePods([...pods('a', spec, 2), ...pods('b', spec, 2)], offers, context());
    expect(where(placement)).toEqual({ 'a-0': 'o1', 'b-0': 'o1' });
    expect([...placement.pending.keys()]).toEqual(['a', 'b']);
  });
});

describe('placePods: spreading', () => {
  it('puts 3 pods on 3 equal hosts, one each, whatever the order of the offers', () => {
    const offers = [offer({ id: 'o2' }), offer({ id: 'o3' }), offer({ id: 'o1' })];
    const placement = placePods(pods('a', jobSpec(), 3), offers, context());
    expect(where(placement)).toEqual({ 'a-0': 'o1', 'a-1': 'o2', 'a-2': 'o3' });
    expect(placePods(pods('a', jobSpec(), 3), [...offers].reverse(), context())).toEqual(placement);
  });

  it('prefers hosts with fewer pods of the job over hosts with more room', () => {
    const offers = [
      offer({ id: 'big', resources: 'cpus:32;mem:64GiB' }),
      offer({ id: 'small', resources: 'cpus:1;mem:1GiB' }),
    ];
    const placement = placePods(pods('a', jobSpec()), offers, context({ 'a@agent-big': 1 }));
    expect(where(placement)).toEqual({ 'a-0': 'small' });
  });

  it('among hosts with as many pods of the job, prefers the one with the most cpu and memory left', () => {
    const offers = [
      offer({ id: 'o1', resources: 'cpus:2;mem:2GiB' }),
      offer({ id: 'o2', resources: 'cpus:1;mem:8GiB' }),
      offer({ id: 'o3', resources: 'cpus:6;mem:1GiB' }),
    ];
    const placement = placePods(pods('a', jobSpec()), offers, context({ 'b@agent-o2': 5 }));
    expect(where(placement)).toEqual({ 'a-0': 'o2' });
  });

  it('counts a pod placed through one offer of an agent against its other offers too', () => {
    const offers = [
      offer({ id: 'x1', agentId: 'x', resources: 'cpus:16;mem:32GiB' }),
      offer({ id: 'x2', agentId: 'x', resources: 'cpus:8;mem:16GiB' }),
      offer({ id: 'y', resources: 'cpus:2;mem:2GiB' }),
    ];
    const placement = placePods(pods('a', jobSpec(), 3), offers, context());
    expect(where(placement)).toEqual({ 'a-0': 'x1', 'a-1': 'y', 'a-2': 'x1' });
  });

  it('fills one offer with several pods when it is the only one', () => {
    const offers = [offer({ id: 'o1', resources: 'cpus:1.2;mem:8GiB' })];
    const placement = placePods(pods('a', jobSpec(), 3), offers, context());
    expect(where(placement)).toEqual({ 'a-0': 'o1', 'a-1': 'o1' });
    expect(placement.pending.get('a')).toEqual([{ reason: 'insufficient cpu (needs 500m)', hosts: 1 }]);
  });
});

describe('placePods: ports', () => {
  it('gives a fixed port to one pod per offer', () => {
    const spec = jobSpec({ ports: [{ name: 'http', port: 31000 }] });
    const one = placePods(pods('a', spec, 2), [offer({ id: 'o1' })], context());
    expect(where(one)).toEqual({ 'a-0': 'o1' });
    expect(one.pending.get('a')).toEqual([{ reason: 'port 31000 taken', hosts: 1 }]);
    const two = placePods(pods('a', spec, 2), [offer({ id: 'o1' }), offer({ id: 'o2' })], context());
    expect(where(two)).toEqual({ 'a-0': 'o1', 'a-1': 'o2' });
  });

  it('gives dynamic ports from the ranges without collisions, fixed ports of other pods included', () => {
    const offers = [offer({ id: 'o1', resources: 'cpus:8;mem:8GiB;ports:[31000-31001,31005-31010]' })];
    const dynamic = jobSpec({ ports: [{ name: 'http' }, { name: 'admin', port: 'dynamic' }] });
    const fixed = jobSpec({ name: 'fixed', ports: [{ name: 'http', port: 31005 }] });
    const placement = placePods([...pods('f', fixed), ...pods('d', dynamic, 3)], offers, context());
    expect(placement.assignments.map((a) => a.ports)).toEqual([
      { http: 31005 },
      { http: 31000, admin: 31001 },
      { http: 31006, admin: 31007 },
      { http: 31008, admin: 31009 },
    ]);
    expect(placement.assignments[1]?.resources.ports).toEqual([{ begin: 31000, end: 31001 }]);
    const more = placePods([...pods('f', fixed), ...pods('d', dynamic, 4)], offers, context());
    expect(more.pending.get('d')).toEqual([{ reason: 'not enough free ports', hosts: 1 }]);
  });
});

describe('placePods: pending reasons', () => {
  it('says it waits for resources when there are no offers', () => {
    const placement = placePods([...pods('a', jobSpec(), 2), ...pods('b', jobSpec())], [], context());
    expect(placement).toEqual({
      assignments: [],
      pending: new Map([
        ['a', [{ reason: 'no offers (waiting for resources)', hosts: 0 }]],
        ['b', [{ reason: 'no offers (waiting for resources)', hosts: 0 }]],
      ]),
      unused: [],
    });
  });

  it('has no entry for a job whose pods were all placed, and lists offers nothing went into', () => {
    const placement = placePods(pods('a', jobSpec()), [offer({ id: 'o1' }), offer({ id: 'o2', pool: 'x' })], context());
    expect(placement.pending.size).toBe(0);
    expect(placement.unused).toEqual(['o2']);
  });

  it('explains with the first unplaced pod of the job, one reason per offer, most hosts first', () => {
    const offers = [
      offer({ id: 'o1', pool: 'web' }),
      offer({ id: 'o2', resources: 'cpus:0.1;mem:8GiB' }),
      offer({ id: 'o3', resources: 'cpus:0.1;mem:8GiB' }),
      offer({ id: 'o4', resources: 'cpus:4;mem:1MiB' }),
    ];
    const big = jobSpec({ resources: { cpu: { millicores: '2000m' }, memory: { hard: '1Gi' } } });
    const placement = placePods([...pods('a', big), ...pods('a', jobSpec())], offers, context());
    expect(placement.pending.get('a')).toEqual([
      { reason: 'insufficient cpu (needs 2000m)', hosts: 2 },
      { reason: 'insufficient mem (needs 1GiB)', hosts: 1 },
      { reason: 'not in pool "default"', hosts: 1 },
    ]);
  });
});
