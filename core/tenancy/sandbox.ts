/**
 * What a container's user and capabilities need beyond `container:create` (docs/security.md,
 * "Users and capabilities"): a named host user needs `task:run-as` in the pool, real root is for
 * admins only, and capabilities beyond the default set need `task:capabilities`. One rule for
 * the master (at ACCEPT) and the frameworks that submit on users' behalf (at submit).
 */
import { extraCapabilities } from '../capabilities.js';
import type { Authority } from './grants.js';

/** What a container asks for that needs more than `container:create`. */
export interface SandboxNeeds {
  /** Runs as real root on the host. */
  readonly admin: boolean;
  readonly authorities: readonly Authority[];
}

/** The needs of a container running as `user` ('' = its own user namespace) with `capabilities` added. */
export function sandboxNeeds(user: string, capabilities: readonly string[]): SandboxNeeds {
  const authorities: Authority[] = [];
  if (user !== '' && user !== 'root') authorities.push('task:run-as');
  if (extraCapabilities(capabilities).length > 0) authorities.push('task:capabilities');
  return { admin: user === 'root', authorities };
}

/**
 * Why `needs` are refused to a caller (an admin, or holding the authorities `holds` says), or
 * undefined when they are granted.
 */
export function sandboxDenial(
  needs: SandboxNeeds,
  admin: boolean,
  holds: (authority: Authority) => boolean,
): string | undefined {
  if (admin) return undefined;
  if (needs.admin) return 'runs as root on the host, which only an admin may';
  const missing = needs.authorities.find((authority) => !holds(authority));
  return missing === undefined ? undefined : `needs ${missing}`;
}
