/**
 * Who may loosen a sandbox (docs/security.md, "Users and capabilities" and "Host paths"), over
 * real gRPC on an authenticating master and AppMaster with tenancy state:
 *
 * - at ACCEPT, a task that runs as a named host user needs `task:run-as`, one that runs as root
 *   an admin, one that adds capabilities `task:capabilities`; a bind volume must be under the
 *   agent's advertised allowed host paths (read-write only under an `:rw` one) — each refusal is
 *   a clear coded error, and nothing reaches the agent;
 * - an agent cannot advertise a forbidden host path;
 * - at submit, the AppMaster refuses the same for a job spec, and a bind of `/`, storing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import type { Principal } from '../../core/auth/principal.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { createLogger } from '../../core/logger.js';
import { GrantStore } from '../../core/tenancy/grants.js';
import { serveAppMasterApi } from '../../frameworks/appmaster/api.js';
import { AppMaster } from '../../frameworks/appmaster/appmaster.js';
import { JOBS_PREFIX } from '../../frameworks/appmaster/store.js';
import { Volume, Volume_Kind, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../helpers/raw-clients.js';
import { useTenancyMaster } from '../helpers/tenancy-master.js';
import { refusal } from '../helpers/refusal.js';

const principals: Record<string, Principal> = {
  // The fake agents register as an admin may (any agent id); agents' own credentials are tested elsewhere.
  'tok-agent': { user: 'ops-admin', admin: true, kind: 'user' },
  'tok-erin': { user: 'erin', admin: false, kind: 'user' },
  'tok-root': { user: 'root', admin: true, kind: 'user' },
};

describe('at ACCEPT, the master', { timeout: 30_000 }, () => {
  const cell = useTenancyMaster(principals);

  /** An agent allowing /srv read-only and /srv/scratch read-write, and a framework of `token`. */
  async function setUp(token: string): Promise<{ agent: RawAgent; fw: RawFramework; offer: Offer }> {
    const agent = rawAgent(
      cell.master.address,
      {
        hostname: 'h1',
        pool: 'default',
        allowedHostPaths: [
          { path: '/srv', writable: false },
          { path: '/srv/scratch', writable: true },
        ],
      },
      [],
      [],
      'tok-agent',
    );
    cell.closeAfter(() => {
      agent.close();
    });
    await agent.registered;
    const fw = rawFramework(cell.master.address, { name: 'fw', role: principals[token]?.user ?? '' }, true, token);
    cell.closeAfter(() => {
      fw.close();
    });
    const event = (await fw.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'OFFERS')).event;
    const offer = event?.$case === 'offers' ? event.offers.offers[0] : undefined;
    if (!offer) throw new Error('no offer');
    expect(offer.allowedHostPaths).toHaveLength(2); // frameworks see where binds may come from
    return { agent, fw, offer };
  }

  function task(id: string, fields: Partial<TaskInfo> & { user?: string } = {}): TaskInfo {
    const { user = '', ...rest } = fields;
    return {
      taskId: id,
      name: id,
      agentId: '',
      resources: { cpus: 100, mem: 32 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
      command: { shell: 'true', argv: [], env: {}, user },
      labels: [],
      killGraceS: 1,
      volumes: [],
      ...rest,
    };
  }

  const launch = (fw: RawFramework, offer: Offer, info: TaskInfo) =>
    fw.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: [offer.id],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [info] } } }],
        },
      },
    });

  it('refuses a host user without task:run-as, root to non-admins, capabilities without task:capabilities', async () => {
    await cell.grants.grant('erin', 'default', ['container:create', 'band:production']);
    const { agent, fw, offer } = await setUp('tok-erin');
    const runAs = await refusal(launch(fw, offer, task('as-alice', { user: 'alice' })));
    expect(runAs.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(runAs.message).toMatch(/task as-alice .* needs task:run-as in pool default; user erin lacks it/);
    const caps = await refusal(launch(fw, offer, task('admin-caps', { container: { capabilities: ['SYS_ADMIN'] } })));
    expect(caps.message).toMatch(/needs task:capabilities in pool default/);

    await cell.grants.grant('erin', 'default', ['task:run-as']);
    const root = await refusal(launch(fw, offer, task('as-root', { user: 'root' })));
    expect(root.message).toMatch(/runs as root on the host, which only an admin may/);
    expect(cell.master.ctx.tasks.size).toBe(0);
    expect(agent.received.items.some((m) => m.message?.$case === 'runTask')).toBe(false);

    // Granted, the same launches go through; default capabilities need nothing.
    await launch(fw, offer, task('as-alice', { user: 'alice', container: { capabilities: ['KILL', 'CHOWN'] } }));
    await agent.received.waitFor((m) => m.message?.$case === 'runTask', 5000, 'runTask');
  });

  it('lets an admin run a task as root', async () => {
    const { agent, fw, offer } = await setUp('tok-root');
    await launch(fw, offer, task('root-task', { user: 'root', container: { capabilities: ['NET_ADMIN'] } }));
    await agent.received.waitFor((m) => m.message?.$case === 'runTask', 5000, 'runTask');
  });

  it("refuses bind volumes outside the agent's advertised allowed host paths, even for an admin", async () => {
    const { agent, fw, offer } = await setUp('tok-root');
    const bind = (hostPath: string, readOnly = true) =>
      task(`b${Math.random().toString(36).slice(2, 8)}`, {
        volumes: [Volume.fromPartial({ kind: Volume_Kind.BIND, path: 'in', hostPath, readOnly })],
      });
    for (const [hostPath, why] of [
      ['/', /host path \/ is the host's root/],
      ['/etc', /under \/etc, which is never bound/],
      ['/home/erin', /not under the agent's --allowed-host-paths \(\/srv, \/srv\/scratch\)/],
      ['/srv/../etc', /\. or \.\. segment/],
    ] as const) {
      const error = await refusal(launch(fw, offer, bind(hostPath)));
      expect(error.code, hostPath).toBe('GALAXY_E_HOST_PATH_DENIED');
      expect(error.message, hostPath).toMatch(why);
    }
    const writing = await refusal(launch(fw, offer, bind('/srv/data', false)));
    expect(writing.message).toMatch(/allowed read-only on this agent/);
    expect(cell.master.ctx.tasks.size).toBe(0);
    expect(agent.received.items.some((m) => m.message?.$case === 'runTask')).toBe(false);
    await launch(fw, offer, bind('/srv/scratch/out', false));
    await agent.received.waitFor((m) => m.message?.$case === 'runTask', 5000, 'runTask');
  });

  it('refuses an agent that advertises a forbidden host path', async () => {
    const agent = rawAgent(
      cell.master.address,
      { hostname: 'h2', pool: 'default', allowedHostPaths: [{ path: '/etc', writable: true }] },
      [],
      [],
      'tok-agent',
    );
    cell.closeAfter(() => {
      agent.close();
    });
    await expect(agent.registered).rejects.toThrow(
      /GALAXY_E_AGENT_INVALID.*allowed_host_paths\[0\] \/etc is under \/etc/,
    );
    expect(cell.master.view.agents()).toHaveLength(0);
  });
});

describe('at submit, the AppMaster', { timeout: 30_000 }, () => {
  let coordinator: MemoryCoordinator;
  let appmaster: AppMaster;
  let api: ServingApi;
  let erin: AppMasterApi;

  beforeAll(async () => {
    coordinator = new MemoryCoordinator();
    appmaster = new AppMaster({
      coordinator,
      log: createLogger('appmaster', 'silent'),
      worker: () => ({ argv: ['true'], appmasters: ['127.0.0.1:1'] }),
    });
    api = await serveAppMasterApi(appmaster, '127.0.0.1:0', undefined, (token) => principals[token]);
    await new GrantStore(coordinator).grant('erin', 'default', ['job:create', 'job:list', 'band:production']);
    erin = appMasterClient(api.address, 'tok-erin');
  });

  afterAll(async () => {
    erin.close();
    await api.stop();
    await appmaster.detach();
    await coordinator.close();
  });

  const spec = (name: string, extra: Record<string, unknown>) =>
    JSON.stringify({
      name,
      replicas: 1,
      resources: { cpu: { millicores: 100 }, memory: { hard: '64Mi' } },
      package: { source: 'https://example.invalid/web.tar.gz', version: '1', sha256: 'a'.repeat(64) },
      commands: { start: 'sleep 1000' },
      ...extra,
    });

  it('refuses run-as, root, extra capabilities and a bind of /, storing nothing', async () => {
    const cases = [
      ['as-alice', { container: { user: 'alice' } }, 'GALAXY_E_PERMISSION_DENIED', /lacks task:run-as in pool default/],
      [
        'as-root',
        { container: { user: 'root' } },
        'GALAXY_E_PERMISSION_DENIED',
        /root on the host, which only an admin may/,
      ],
      ['caps', { container: { capabilities: ['SYS_ADMIN'] } }, 'GALAXY_E_PERMISSION_DENIED', /task:capabilities/],
      [
        'bad-caps',
        { container: { capabilities: ['GOD_MODE'] } },
        'GALAXY_E_SPEC_INVALID',
        /"GOD_MODE" is not a Linux capability/,
      ],
      [
        'bind-root',
        { volumes: [{ kind: 'bind', path: 'host', hostPath: '/' }] },
        'GALAXY_E_SPEC_INVALID',
        /volumes\[0\]\.hostPath: host path \/ is the host.s root/,
      ],
      [
        'bind-proc',
        { volumes: [{ kind: 'bind', path: '/proc/x', hostPath: '/srv' }] },
        'GALAXY_E_SPEC_INVALID',
        /volumes\[0\]\.path: .* under the container.s \/proc/,
      ],
    ] as const;
    for (const [name, extra, code, why] of cases) {
      const error = await refusal(erin.submitJob({ specJson: spec(name, extra) }));
      expect(error.code, name).toBe(code);
      expect(error.message, name).toMatch(why);
    }
    await appmaster.detach();
    expect(await coordinator.list(JOBS_PREFIX)).toEqual([]);
    // Within the defaults, the same user's job is taken.
    await erin.submitJob({ specJson: spec('plain', { volumes: [{ kind: 'bind', path: 'in', hostPath: '/srv/in' }] }) });
    expect((await erin.listJobs({}).then((r) => r.jobs)).map((j) => j.name)).toEqual(['plain']);
  });
});
