/**
 * `galaxy resolve` against a real local coordinator directory: once, as a table or JSON, and
 * with `--watch` until aborted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCoordinator } from '../core/coordinator/local.js';
import { isGalaxyError } from '../core/errors.js';
import { publishEndpoints, withdrawEndpoints, type Endpoint, type NamingOwner } from '../frameworks/sdk/naming.js';
import { eventually } from '../test/helpers/async-queue.js';
import { resolveCommand } from './resolve.js';

const OWNER: NamingOwner = { user: 'alice', uid: 'web-1st' };
const http1: Endpoint = { service: 'http', job: 'web', podId: 'web-1', host: 'host-a', port: 8080, healthy: true };
const admin1: Endpoint = { ...http1, service: 'admin', port: 9090, healthy: false };
const http2: Endpoint = { ...http1, podId: 'web-2', host: 'host-b', port: 8081 };

describe('galaxy resolve', () => {
  let dir: string;
  let url: string;
  let publisher: LocalCoordinator;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'galaxy-resolve-'));
    url = `local:${dir}`;
    publisher = await LocalCoordinator.open(dir);
    await publishEndpoints(publisher, 'web', 'web-1', [http1, admin1], OWNER);
  });

  afterEach(async () => {
    await publisher.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints a table of service, host:port and health', async () => {
    const lines: string[] = [];
    expect(await resolveCommand('web', { coordinator: url, output: 'table' }, (l) => lines.push(l))).toBe(0);
    const rows = lines.join('\n').split('\n');
    expect(rows[0]).toMatch(/SERVICE\s+ENDPOINT\s+HEALTHY\s+POD/);
    expect(rows[1]).toMatch(/admin\s+host-a:9090\s+no\s+web-1/);
    expect(rows[2]).toMatch(/http\s+host-a:8080\s+yes\s+web-1/);
  });

  it('prints JSON, filtered by service', async () => {
    const lines: string[] = [];
    await resolveCommand('web', { coordinator: url, output: 'json', service: 'http' }, (l) => lines.push(l));
    expect(JSON.parse(lines.join('\n'))).toEqual([http1]);
  });

  it('with --watch prints the list again on every change until aborted', async () => {
    const lists: Endpoint[][] = [];
    const controller = new AbortController();
    const exit = resolveCommand(
      'web',
      { coordinator: url, output: 'json', service: 'http', watch: true },
      (l) => lists.push(JSON.parse(l) as Endpoint[]),
      controller.signal,
    );
    await eventually(() => lists.length === 1, 5000, 'the first list');
    expect(lists[0]).toEqual([http1]);
    await publishEndpoints(publisher, 'web', 'web-2', [http2], OWNER);
    await eventually(() => lists.length === 2, 5000, 'the list with web-2');
    expect(lists[1]).toEqual([http1, http2]);
    await withdrawEndpoints(publisher, 'web', 'web-1', OWNER);
    await eventually(() => lists.length === 3, 5000, 'the list without web-1');
    expect(lists[2]).toEqual([http2]);
    controller.abort();
    expect(await exit).toBe(0);
  });

  it('refuses a bad coordinator URL or job name with a coded error', async () => {
    const badUrl = await resolveCommand('web', { coordinator: 'etcd://x', output: 'table' }, () => undefined).catch(
      (e: unknown) => e,
    );
    expect(isGalaxyError(badUrl, 'GALAXY_E_INVALID_ARGUMENT')).toBe(true);
    const badJob = await resolveCommand(
      '../web',
      { coordinator: url, output: 'table', watch: true },
      () => undefined,
    ).catch((e: unknown) => e);
    expect(isGalaxyError(badJob, 'GALAXY_E_INVALID_ARGUMENT')).toBe(true);
  });
});
