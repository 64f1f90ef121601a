/**
 * `galaxy job plan` through the AppMaster (fake master, real gRPC): the kind of change per pod,
 * where pods needing a new container would fit in the offers last seen and why not, the owner's
 * quota, and that planning changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../../core/auth/principal.js';
import { QuotaStore } from '../../core/tenancy/quotas.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

let h: AppMasterHarness;
afterEach(async () => {
  await h.stop();
});

const big = (mem: string) => ({ resources: { cpu: { millicores: '100m' }, memory: { hard: mem } } });

describe('job plan', { timeout: 20_000 }, () => {
  it('shows per-pod changes, placement against the last offers, quota, and changes nothing', async () => {
    h = await startAppMasterHarness();
    await h.appmaster.submit(specJson('web', 2, '1'));
    h.offer(offerOf('o1'));
    await h.calls('accept');
    for (const pod of ['web-0', 'web-1']) await h.healthy('web', pod, 1);

    const rebuild = await h.appmaster.plan(specJson('web', 3, '2'));
    expect(rebuild).toMatchObject({ creates: false, kind: 'rebuild', fields: ['replicas', 'package'] });
    expect(rebuild.pods.map((p) => [p.podId, p.change])).toEqual([
      ['web-0', 'rebuild'],
      ['web-1', 'rebuild'],
      ['(new 1)', 'new'],
    ]);
    expect(rebuild.placements).toEqual([{ podId: '(new 1)', hostname: 'host-a1' }]);
    expect(rebuild.quota).toEqual(['ok']);

    const replace = await h.appmaster.plan(specJson('web', 1, '1', big('1Gi')));
    expect(replace.pods.map((p) => [p.podId, p.change])).toEqual([
      ['web-0', 'replace'],
      ['web-1', 'remove'],
    ]);
    expect(replace.placements).toEqual([{ podId: 'web-0', hostname: 'host-a1' }]);

    const tooBig = await h.appmaster.plan(specJson('web', 2, '1', big('16Gi')));
    expect(tooBig.placements.every((p) => p.hostname === '')).toBe(true);
    expect(tooBig.unplaced[0]?.reason).toMatch(/mem/);
    expect(tooBig.preemption).toMatch(/2 pod\(s\) would wait/);

    await new QuotaStore(h.coordinator).set(OPEN_PRINCIPAL.user, { limit: { replicas: 2 } });
    expect((await h.appmaster.plan(specJson('web', 3, '1'))).quota.join()).toMatch(/replicas/);
    expect((await h.appmaster.plan(specJson('other', 1, '1'))).quota.join()).toMatch(/replicas/);

    const after = await h.show('web');
    expect(after).toMatchObject({ revision: 1, replicas: 2, update: undefined });
    expect(after.pods).toHaveLength(2);
  });
});
