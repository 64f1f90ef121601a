/**
 * A bare ZooKeeper client, as an attacker (or an operator's tool) would use one: the `zookeeper`
 * npm client with no Galaxy code around it, optionally with a digest credential. Its calls reject
 * with ZooKeeper's result code first (`-102 not authenticated`).
 */
import ZooKeeper from 'zookeeper';
import type { ZkAcl } from '../../core/coordinator/zookeeper-secret.js';

/** What the tests use of the npm client. */
export interface RawZk {
  get(path: string, watch: boolean): Promise<[unknown, Buffer | null]>;
  exists(path: string, watch: boolean): Promise<{ aversion: number; numChildren: number }>;
  get_children(path: string, watch: boolean): Promise<string[]>;
  create(path: string, data: Buffer | string, flags: number): Promise<string>;
  set(path: string, data: Buffer | string, version: number): Promise<unknown>;
  delete_(path: string, version: number): Promise<void>;
  get_acl(path: string): Promise<[ZkAcl[], unknown]>;
  set_acl(path: string, version: number, acl: readonly ZkAcl[]): Promise<unknown>;
  close(): void;
}

interface Native extends RawZk {
  init(config: object): void;
  once(event: 'connect', listener: () => void): void;
  add_auth(scheme: string, auth: string, callback: (rc: number, error: string) => void): void;
}

/** World-open: all permissions to anyone. */
export const OPEN_ACL: readonly ZkAcl[] = [{ perms: 31, scheme: 'world', auth: 'anyone' }];

/** Connects to `connect`; with `credential` (`user:password`) it authenticates as that digest user. */
export async function rawZk(connect: string, credential?: string): Promise<RawZk> {
  const client = new ZooKeeper({
    connect,
    timeout: 5000,
    debug_level: 0,
    host_order_deterministic: false,
  }) as unknown as Native;
  const connected = new Promise<void>((resolve) => {
    client.once('connect', resolve);
  });
  client.init({});
  await connected;
  if (credential !== undefined) {
    await new Promise<void>((resolve, reject) => {
      client.add_auth('digest', credential, (rc, error) => {
        if (rc === 0) resolve();
        else reject(new Error(`${rc} ${error}`));
      });
    });
  }
  return client;
}

/** The ZooKeeper result code `promise` rejects with (fails if it resolves). */
export async function zkCode(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => {
      throw new Error('expected ZooKeeper to refuse');
    },
    (error: unknown) => Number(/^(-\d+) /.exec((error as Error).message)?.[1] ?? NaN),
  );
}
