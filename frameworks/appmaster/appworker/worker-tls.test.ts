/**
 * An AppWorker pulling from a TLS AppMaster: given the CA's PEM (what the AppMaster puts in a
 * pod's `GALAXY_APPMASTER_CA`) it verifies the AppMaster and pulls, presenting no certificate (a
 * pod holds no cluster secret; the AppMaster asks none). Without the CA, or with another CA's,
 * it never reaches the AppMaster.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/helpers/async-queue.js';
import { issueCertificate, makeCa } from '../../../test/helpers/certs.js';
import { createLogger } from '../../../core/logger.js';
import { FakeAppMaster } from './fake-appmaster.js';
import { AppWorker } from './worker.js';

let dir = '';
let fake: FakeAppMaster;
let ca = '';
let otherCa = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-worker-tls-'));
  const authority = makeCa(dir, 'galaxy-ca');
  const other = makeCa(dir, 'other-ca');
  fake = await FakeAppMaster.start({ ...issueCertificate(authority, 'appmaster'), clientCertificates: 'none' });
  ca = await readFile(authority.cert, 'utf8');
  otherCa = await readFile(other.cert, 'utf8');
});

afterAll(async () => {
  fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs a worker for `podId` with `caPem` for a while; resolves with how many pulls reached the fake. */
async function pullsOf(podId: string, caPem: string | undefined, waitMs: number): Promise<number> {
  const sandbox = await mkdtemp(join(dir, `${podId}-`));
  const worker = new AppWorker({
    appmasters: [fake.address],
    job: 'hello',
    podId,
    taskId: `${podId}.t`,
    sandbox,
    retryMs: { initialMs: 50, maxMs: 200 },
    logger: createLogger('appworker', 'silent'),
    ...(caPem === undefined ? {} : { ca: caPem }),
  });
  worker.start();
  try {
    if (caPem === ca) await eventually(() => fake.pulls.some((p) => p.podId === podId), waitMs, 'a pull over TLS');
    else await new Promise((r) => setTimeout(r, waitMs));
    return fake.pulls.filter((p) => p.podId === podId).length;
  } finally {
    await worker.stop();
  }
}

describe('an AppWorker and a TLS AppMaster', () => {
  it('pulls when it verifies the AppMaster with the CA it was given', async () => {
    expect(await pullsOf('with-ca', ca, 5000)).toBeGreaterThan(0);
  });

  it('never reaches it in plaintext, or trusting another CA', async () => {
    expect(await pullsOf('plaintext', undefined, 1000)).toBe(0);
    expect(await pullsOf('other-ca', otherCa, 1000)).toBe(0);
  });
});
