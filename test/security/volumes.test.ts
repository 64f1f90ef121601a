/**
 * Attacks on another user's persistent disk volume through the AppMaster (docs/disks.md, "Listing
 * and destroying volumes by hand"), on a real cluster (`galaxy up` in its own process, pods in
 * Linux containers, an agent with a named ssd disk): alice runs a service whose persistent volume
 * holds a secret; bob holds the same job authorities in pool `default`, not `job:any`.
 *
 * - bob's `volume list` does not show her volume; naming her job is refused;
 * - bob's `volume destroy` of her volume (forced, and through the CLI) is refused naming job:any;
 *   her volume is still listed, its image on the disk, the secret readable in her pod;
 * - bob's job asking for a persistent volume of the same name gets his own, empty volume, and a
 *   volume name shaped like her key (`<pod>/<volume>`) is refused at submit: his job never mounts
 *   her data.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async-queue.js';
import { packagesVolume } from '../helpers/packages.js';
import { refusal } from '../helpers/refusal.js';
import { JOB_OWNER_VERBS, startUpCluster, type UpClients, type UpCluster } from '../helpers/up-cluster.js';

const tag = Math.random().toString(36).slice(2, 8);
const web = `vol-${tag}`;
const pod = `${web}-0`;
let disksDir = '';
let cluster: UpCluster | undefined;
let alice: UpClients;
let bob: UpClients;
let bobToken = '';

const notHis = (name: string) =>
  `GALAXY_E_PERMISSION_DENIED: user bob lacks job:any in pool default to act on job "${name}", which is another user's; ` +
  `an admin can grant it with "galaxy grant bob default job:any"`;

/** The example service with a persistent volume `volume`, writing `secret` into it first when given. */
async function spec(name: string, volume: string, secret?: string): Promise<string> {
  if (!cluster) throw new Error('no cluster');
  const pkg = join(cluster.workDir, 'packages', 'hello-service-1.0.0.tar.gz');
  const sha256 = createHash('sha256')
    .update(await readFile(pkg))
    .digest('hex');
  return JSON.stringify({
    name,
    band: 'batch',
    replicas: 1,
    ports: [{ name: 'http', port: 'dynamic' }],
    resources: { cpu: { millicores: 100 }, memory: { hard: '128Mi' } },
    package: { source: pathToFileURL(pkg).href, version: '1.0.0', sha256 },
    volumes: [
      // galaxy up's packages directory, which its agent lets pods bind read-only: the package is there.
      packagesVolume(join(cluster.workDir, 'packages')),
      { kind: 'disk', name: volume, path: 'data', medium: 'ssd', size: '32Mi', persistent: true },
    ],
    commands: { start: `${secret ? `echo ${secret} > "$GALAXY_SANDBOX/data/secret" && ` : ''}exec node server.mjs` },
    health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 5, failures: 3 },
  });
}

const images = async () =>
  (await readdir(join(disksDir, 'ssd1', '.galaxy-volumes')).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.img'),
  );

beforeAll(async () => {
  disksDir = await mkdtemp(join(tmpdir(), 'galaxy-vol-attack-'));
  await mkdir(join(disksDir, 'ssd1'));
  cluster = await startUpCluster('vol-attack', '[25450-25469]', {
    isolation: 'auto',
    extraArgs: ['--disks', `ssd1:${join(disksDir, 'ssd1')}:ssd:256MiB`],
  });
  alice = cluster.clients(await cluster.addUser('alice', 'default', JOB_OWNER_VERBS));
  bobToken = await cluster.addUser('bob', 'default', JOB_OWNER_VERBS);
  bob = cluster.clients(bobToken);
  await alice.appmaster.submitJob({ specJson: await spec(web, 'data', 'alice-secret') });
  await healthy(alice, web);
}, 150_000);

/** Waits for the job's pod to be healthy; on a timeout says what the job shows. */
async function healthy(owner: UpClients, name: string): Promise<void> {
  let last = '';
  await eventually(
    async () => {
      const status = await owner.appmaster.showJob({ name });
      last = JSON.stringify({ message: status.message, pending: status.pending, pods: status.pods });
      return status.message === '1/1 healthy';
    },
    60_000,
    `${name} healthy`,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}: ${last}`);
  });
}

afterAll(async () => {
  await cluster?.stop();
  await rm(disksDir, { recursive: true, force: true });
}, 30_000);

/** What alice sees of her volume, and what is in it. */
async function hers() {
  const { volumes } = await alice.appmaster.volumesList({ job: web });
  const { stdout } = await alice.appmaster.execPod({
    name: web,
    podId: pod,
    command: 'cat "$GALAXY_SANDBOX/data/secret"',
    timeoutS: 5,
  });
  return { volumes, secret: stdout.trim(), images: await images() };
}

describe("attacks on another user's persistent volume", { timeout: 90_000 }, () => {
  it('bob cannot list or destroy her volume; it stays listed, on the disk and readable', async () => {
    const before = await hers();
    expect(before.volumes).toMatchObject([
      {
        job: web,
        podId: pod,
        volume: 'data',
        disk: 'ssd1',
        medium: 'ssd',
        sizeBytes: 32 * 1024 * 1024,
        state: 'in use',
      },
    ]);
    expect(before.secret).toBe('alice-secret');
    expect(before.images).toHaveLength(1);

    expect((await bob.appmaster.volumesList({ job: '' })).volumes).toEqual([]);
    expect((await refusal(bob.appmaster.volumesList({ job: web }))).message).toBe(notHis(web));
    for (const force of [false, true]) {
      const error = await refusal(bob.appmaster.volumesDestroy({ job: web, podId: pod, volume: 'data', force }));
      expect(error.message).toBe(notHis(web));
    }
    const cli = await cluster?.cli(bobToken, [
      'volume',
      'destroy',
      '-a',
      cluster.appmaster,
      web,
      pod,
      'data',
      '--force',
    ]);
    expect(cli?.code, cli?.stderr).toBe(2);
    expect(cli?.stderr).toContain(notHis(web));

    expect(await hers()).toEqual(before);
  });

  it("bob's job naming her volume gets its own empty one, or is refused: never her data", async () => {
    const before = await hers();
    // A volume name shaped like her key does not pass the spec: nothing is submitted.
    const shaped = await refusal(bob.appmaster.submitJob({ specJson: await spec(`bob-${tag}`, `${pod}/data`) }));
    expect(shaped.code).toBe('GALAXY_E_SPEC_INVALID');
    expect((await bob.appmaster.listJobs({})).jobs).toEqual([]);

    // The same volume name: his pod's own key, a new image, no secret in it.
    const his = `bob-${tag}`;
    await bob.appmaster.submitJob({ specJson: await spec(his, 'data') });
    await healthy(bob, his);
    const { stdout, exitCode } = await bob.appmaster.execPod({
      name: his,
      podId: `${his}-0`,
      command: 'ls -A "$GALAXY_SANDBOX/data"; cat "$GALAXY_SANDBOX/data/secret"',
      timeoutS: 5,
    });
    expect(stdout).not.toContain('alice-secret');
    expect(exitCode).not.toBe(0);
    expect((await bob.appmaster.volumesList({ job: '' })).volumes.map((v) => [v.job, v.volume])).toEqual([
      [his, 'data'],
    ]);
    expect(await images()).toHaveLength(2);
    const after = await hers();
    expect({ ...after, images: before.images }).toEqual(before);
    expect(after.images).toEqual(expect.arrayContaining(before.images));
    await bob.appmaster.removeJob({ name: his });
  });
});
