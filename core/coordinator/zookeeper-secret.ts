/**
 * The cluster secret that keeps Galaxy's ZooKeeper state to Galaxy's daemons
 * (`zk://…?secret=/path/to/file`). From it come:
 *
 * - a ZooKeeper **digest** identity (`galaxy:<password>`), which every session adds before its first
 *   call, and the one ACL every Galaxy znode carries: all permissions to that identity, nothing to
 *   anyone else — a client without the secret cannot list, read, write, delete or re-ACL them;
 * - a **MAC key**: every value is sealed with an HMAC of its key and content. The `zookeeper` npm
 *   client can only create world-open znodes (its `create` takes no ACL), so each znode is created
 *   empty and given its ACL at once; were a value written into it by someone else in between,
 *   its seal would not verify and Galaxy would read it as no value at all.
 *
 * The file is read once; it must be readable by its owner only and hold at least 16 bytes.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { GalaxyError } from '../errors.js';

/** The ZooKeeper user Galaxy's daemons authenticate as. */
const USER = 'galaxy';
/** All of ZooKeeper's permissions: read, write, create, delete, admin. */
export const ZK_PERM_ALL = 31;
const MAC_BYTES = 32;
const MIN_SECRET_BYTES = 16;

/** One ACL entry, as the npm client reads and writes them. */
export interface ZkAcl {
  readonly perms: number;
  readonly scheme: string;
  readonly auth: string;
}

/** The key material derived from a cluster secret; see the module comment. */
export class ZkSecret {
  /** What `add_auth('digest', …)` is given: `galaxy:<password>`. */
  readonly credential: string;
  /** The one ACL of every Galaxy znode. */
  readonly acl: readonly ZkAcl[];
  private readonly macKey: Buffer;

  /** @param secret the secret's bytes (at least 16) */
  constructor(secret: Buffer) {
    // Separate keys for the two uses; the password is text, as the digest scheme wants.
    const password = derive('zookeeper-digest', secret).toString('base64url');
    this.credential = `${USER}:${password}`;
    const id = `${USER}:${createHash('sha1').update(this.credential).digest('base64')}`;
    this.acl = Object.freeze([Object.freeze({ perms: ZK_PERM_ALL, scheme: 'digest', auth: id })]);
    this.macKey = derive('value-mac', secret);
  }

  /**
   * Reads the secret from `file`.
   * @throws GalaxyError GALAXY_E_INVALID_ARGUMENT when the file is missing, readable by others, or too short
   */
  static async load(file: string): Promise<ZkSecret> {
    const bad = (why: string): GalaxyError =>
      new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `the coordinator secret file ${file} ${why}`);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw bad('is not a readable file: make one with `head -c 32 /dev/urandom | base64 > FILE`');
    if ((info.mode & 0o077) !== 0)
      throw bad(`is readable by others (mode ${(info.mode & 0o777).toString(8)}): chmod 600 ${file}`);
    const secret = trimEnd(await readFile(file));
    if (secret.length < MIN_SECRET_BYTES) throw bad(`holds fewer than ${MIN_SECRET_BYTES} bytes`);
    return new ZkSecret(secret);
  }

  /** True when `acl` is exactly Galaxy's. */
  owns(acl: readonly ZkAcl[] | null | undefined): boolean {
    const ours = this.acl[0];
    const [only, ...others] = acl ?? [];
    return (
      others.length === 0 && only?.scheme === ours?.scheme && only?.auth === ours?.auth && only?.perms === ours?.perms
    );
  }

  /** `payload` sealed for `key`: its MAC, then the payload. Empty stays empty (a znode with no value). */
  seal(key: string, payload: Buffer): Buffer {
    if (payload.length === 0) return payload;
    return Buffer.concat([this.mac(key, payload), payload]);
  }

  /** The payload of `data` sealed for `key`, or undefined when the seal does not verify. */
  unseal(key: string, data: Buffer): Buffer | undefined {
    if (data.length <= MAC_BYTES) return undefined;
    const payload = data.subarray(MAC_BYTES);
    return timingSafeEqual(data.subarray(0, MAC_BYTES), this.mac(key, payload)) ? payload : undefined;
  }

  private mac(key: string, payload: Buffer): Buffer {
    return createHmac('sha256', this.macKey).update(key).update('\0').update(payload).digest();
  }
}

/** A key for `purpose` derived from the secret. */
function derive(purpose: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(`galaxy ${purpose}`).digest();
}

/** The bytes without trailing whitespace (a newline an editor added). */
function trimEnd(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && [0x20, 0x09, 0x0a, 0x0d].includes(bytes[end - 1] ?? 0)) end--;
  return bytes.subarray(0, end);
}
