/**
 * Options of a master, with Mesos-like defaults.
 */
import type { AllocatorOptions } from '../allocators/allocator.js';
import type { MasterPlugin } from './plugin.js';
import type { ServerAuth } from '../core/auth/server.js';
import type { UserStore } from '../core/tenancy/users.js';
import type { Coordinator } from '../core/coordinator/coordinator.js';
import type { AccountingOptions } from './accounting/accounting.js';
import type { AgentIdentityStore } from '../core/tenancy/agent-identities.js';
import type { ServerTls } from '../core/tls.js';
import type { MasterLimits } from './limits.js';
import type { MasterTimings } from './timings.js';
import type { MasterHttpOptions } from './http/api.js';

/** How to start a master. */
export interface MasterOptions {
  /** Address to listen on, e.g. `127.0.0.1:5050`; port 0 picks a free port. */
  readonly listen: string;
  /** An allocation policy: `drf` (default), `round-robin` (alias `first-fit`), or a module path. */
  readonly allocator?: string;
  readonly allocatorOptions?: AllocatorOptions;
  readonly timings?: Partial<MasterTimings>;
  /** Plugins applied after the built-in ones, in order (`galaxy master --plugin`: see `plugins/index.ts`). */
  readonly plugins?: readonly MasterPlugin[];
  readonly logLevel?: string;
  /** Authenticate every call (see `core/auth/server.ts`); without it (and without `users`) the master is open. */
  readonly auth?: ServerAuth;
  /** The cluster's users: calls authenticate against them and admins manage them (UserAdmin service). */
  readonly users?: UserStore;
  /** Usage sampling, flushing and retention of the accounting ledger. */
  readonly accounting?: AccountingOptions;
  /** Where grants, quotas and claims live (the Operator's tenancy RPCs; authorization of launches and kills). */
  readonly tenancyCoordinator?: Coordinator;
  /**
   * Agents' join tokens and credentials: agents authenticate with them and register only as
   * themselves; admins manage them (AgentIdentityAdmin service).
   */
  readonly agentIdentities?: AgentIdentityStore;
  /**
   * Serve without authenticating anyone (every caller is an admin). Required, as a deliberate
   * choice, when neither `auth`, `users` nor `agentIdentities` is given: a master is never open by
   * accident. Unit tests and `galaxy master --insecure-no-auth` set it.
   */
  readonly insecureNoAuth?: boolean;
  /**
   * Where the registry lives (a candidate's coordinator): the master loads it before it serves
   * and keeps it current (`registry.ts`). Without it the master keeps nothing across restarts.
   */
  readonly registry?: Coordinator;
  /** TLS of the master's port (see `core/tls.ts`); plaintext without. */
  readonly tls?: ServerTls;
  /** Overrides of the master's bounds (`master/limits.ts`). */
  readonly limits?: Partial<MasterLimits>;
  /** Serve the HTTP/JSON API and the web console too (`--http-listen`; `http/api.ts`). */
  readonly http?: MasterHttpOptions;
}
