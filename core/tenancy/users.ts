/**
 * Users and their bearer tokens, stored under `/galaxy/tenancy/users/<name>` (see
 * `docs/tenancy.md`). A token is shown once, when it is made; records keep only its SHA-256.
 * {@link UserStore.authenticate} answers from memory (it runs on every gRPC call): the store
 * loads every user when opened and follows changes through a coordinator watch, so a token
 * issued or revoked by another process takes effect as soon as the watch reports it.
 */
import { randomBytes } from 'node:crypto';
import type { Coordinator, Unwatch } from '../coordinator/coordinator.js';
import { GalaxyError, isGalaxyError } from '../errors.js';
import type { Principal, PrincipalKind } from '../auth/principal.js';
import { newToken, tokenHash } from '../auth/tokens.js';
import { USERS_DIR, userKey } from './keys.js';

/** A user's name: lowercase letter first, then up to 31 of `a-z 0-9 _ -`. */
export const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * The user name of agent principals. Agents once shared a user of this name and kind `agent`;
 * now each agent has its own credential (`core/tenancy/agent-identities.ts`), and a legacy
 * record of that kind registers no agent.
 */
export const AGENT_USER = 'agent';

/** One token of a user, as stored: never the token itself. */
export interface TokenRecord {
  readonly id: string;
  readonly sha256: string;
  readonly createdAt: number;
}

/** A user as stored under `users/<name>`. */
export interface UserRecord {
  readonly name: string;
  readonly admin: boolean;
  /** `agent` for the user agents register as; absent for people and frameworks. */
  readonly kind?: Exclude<PrincipalKind, 'pod'>;
  readonly tokens: readonly TokenRecord[];
  /** ms since epoch. */
  readonly createdAt: number;
}

/** What `galaxy user list` shows of a user. */
export interface UserSummary {
  readonly name: string;
  readonly admin: boolean;
  readonly kind: Exclude<PrincipalKind, 'pod'>;
  /** How many tokens the user holds. */
  readonly tokens: number;
  readonly createdAt: number;
}

/** How a new user is made. */
export interface NewUser {
  readonly admin?: boolean;
  readonly kind?: Exclude<PrincipalKind, 'pod'>;
}

/** Throws `GALAXY_E_INVALID_ARGUMENT` unless `name` is a valid user name. */
export function checkUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `user name "${name.slice(0, 40)}" is invalid: it must match ${USER_NAME.source} (lowercase letter first, at most 32 characters)`,
    );
  }
}

function summary(record: UserRecord): UserSummary {
  return {
    name: record.name,
    admin: record.admin,
    kind: record.kind ?? 'user',
    tokens: record.tokens.length,
    createdAt: record.createdAt,
  };
}

function parseRecord(value: string | undefined): UserRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const record = JSON.parse(value) as Partial<UserRecord>;
    if (typeof record.name !== 'string' || !Array.isArray(record.tokens)) return undefined;
    return { ...record, admin: record.admin === true } as UserRecord;
  } catch {
    return undefined;
  }
}

/** The users of a cluster, over a {@link Coordinator}. */
export class UserStore {
  /** name → record, as last read or written. */
  private readonly users = new Map<string, UserRecord>();
  /** token sha256 → principal. */
  private readonly principals = new Map<string, Principal>();
  private unwatch: Unwatch | undefined;

  private constructor(private readonly coordinator: Coordinator) {}

  /** Loads every user and follows later changes. */
  static async open(coordinator: Coordinator): Promise<UserStore> {
    const store = new UserStore(coordinator);
    store.unwatch = coordinator.watch(USERS_DIR, (change) => {
      const name = change.key.slice(USERS_DIR.length + 1);
      if (name === '' || name.includes('/')) return;
      store.remember(name, parseRecord(change.value));
    });
    await store.refresh();
    return store;
  }

  /** Reads every user again (the watch keeps the cache current; this heals a missed change). */
  async refresh(): Promise<void> {
    const names = await this.coordinator.list(USERS_DIR);
    for (const name of [...this.users.keys()]) if (!names.includes(name)) this.remember(name, undefined);
    for (const name of names) this.remember(name, await this.read(name));
  }

  /**
   * The principal a token belongs to, or undefined. Synchronous (from memory): pass it as the
   * `Authenticator` of a server.
   */
  readonly authenticate = (token: string): Principal | undefined => this.principals.get(tokenHash(token));

  /** The principal of a known user, from memory (undefined when there is no such user). */
  known(name: string): Principal | undefined {
    const record = this.users.get(name);
    return record && Object.freeze({ user: record.name, admin: record.admin, kind: record.kind ?? 'user' });
  }

  /** Makes user `name` and its first token; `GALAXY_E_USER_DUPLICATE` if it exists. */
  async add(name: string, options: NewUser = {}): Promise<{ user: UserSummary; token: string }> {
    checkUserName(name);
    if (options.kind === 'agent') throw SHARED_AGENT_USER;
    const token = newToken();
    const record: UserRecord = {
      name,
      admin: options.admin === true,
      tokens: [tokenRecord(token)],
      createdAt: Date.now(),
    };
    try {
      await this.coordinator.put(userKey(name), JSON.stringify(record), { expectedVersion: -1 });
    } catch (error) {
      if (isGalaxyError(error, 'GALAXY_E_COORD_CONFLICT'))
        throw new GalaxyError(
          'GALAXY_E_USER_DUPLICATE',
          `user ${name} already exists; "galaxy user token ${name}" gives it a new token`,
        );
      throw error;
    }
    this.remember(name, record);
    return { user: summary(record), token };
  }

  /** Removes user `name` and every token of it; `GALAXY_E_USER_UNKNOWN` if there is none. */
  async remove(name: string): Promise<void> {
    checkUserName(name);
    if (!(await this.coordinator.get(userKey(name)))) throw unknownUser(name);
    await this.coordinator.delete(userKey(name));
    this.remember(name, undefined);
  }

  /** Every user, sorted by name, read from the coordinator. */
  async list(): Promise<UserSummary[]> {
    const names = await this.coordinator.list(USERS_DIR);
    const records = await Promise.all(names.map((name) => this.read(name)));
    return records.filter((r): r is UserRecord => r !== undefined).map(summary);
  }

  /** One user, or undefined. */
  async get(name: string): Promise<UserSummary | undefined> {
    checkUserName(name);
    const record = await this.read(name);
    return record && summary(record);
  }

  /**
   * A new token for `name`. With `replace`, the user's other tokens are revoked in the same
   * write (what `galaxy up` does for the admin token it writes to a file).
   */
  async issueToken(name: string, options: { replace?: boolean } = {}): Promise<string> {
    checkUserName(name);
    const token = newToken();
    await this.modify(name, (record) => ({
      ...record,
      tokens: [...(options.replace ? [] : record.tokens), tokenRecord(token)],
    }));
    return token;
  }

  /** Revokes one token of `name` by id, or all of them. */
  async revoke(name: string, tokenId?: string): Promise<void> {
    checkUserName(name);
    await this.modify(name, (record) => ({
      ...record,
      tokens: tokenId === undefined ? [] : record.tokens.filter((t) => t.id !== tokenId),
    }));
  }

  /** Stops following changes. */
  close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private async read(name: string): Promise<UserRecord | undefined> {
    return parseRecord((await this.coordinator.get(userKey(name)))?.value);
  }

  /** Read-modify-write with compare-and-set, retried when another writer got there first. */
  private async modify(name: string, change: (record: UserRecord) => UserRecord): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.coordinator.get(userKey(name));
      const record = parseRecord(current?.value);
      if (!current || !record) throw unknownUser(name);
      const next = change(record);
      try {
        await this.coordinator.put(userKey(name), JSON.stringify(next), { expectedVersion: current.version });
        this.remember(name, next);
        return;
      } catch (error) {
        if (!isGalaxyError(error, 'GALAXY_E_COORD_CONFLICT') || attempt >= 10) throw error;
      }
    }
  }

  /** Replaces what the cache knows of `name` (undefined: the user is gone). */
  private remember(name: string, record: UserRecord | undefined): void {
    const old = this.users.get(name);
    for (const t of old?.tokens ?? []) this.principals.delete(t.sha256);
    if (!record) {
      this.users.delete(name);
      return;
    }
    this.users.set(name, record);
    const principal: Principal = Object.freeze({ user: record.name, admin: record.admin, kind: record.kind ?? 'user' });
    for (const t of record.tokens) this.principals.set(t.sha256, principal);
  }
}

function tokenRecord(token: string): TokenRecord {
  return { id: `t-${randomBytes(4).toString('hex')}`, sha256: tokenHash(token), createdAt: Date.now() };
}

/** Why no user of kind `agent` is made any more. */
const SHARED_AGENT_USER = new GalaxyError(
  'GALAXY_E_INVALID_ARGUMENT',
  'agents do not share a user: give each agent a join token (galaxy agent join-token) or its own credential (galaxy agent credential <id>)',
);

function unknownUser(name: string): GalaxyError {
  return new GalaxyError('GALAXY_E_USER_UNKNOWN', `there is no user ${name}; "galaxy user list" shows them`);
}
