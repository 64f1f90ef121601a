/**
 * The AppMaster's check of a job spec's container at submit and update (docs/security.md, "Users
 * and capabilities"): running its pods as a named host user needs `task:run-as` in the job's
 * pool, as real root an admin, and capabilities beyond the default set `task:capabilities`. The
 * master checks the same at ACCEPT; refusing here refuses before anything is stored.
 */
import type { Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { sandboxNeeds } from '../../core/tenancy/sandbox.js';
import type { JobTenancy } from '../sdk/tenancy.js';
import type { JobSpec } from './spec/schema.js';

/** Rejects with GALAXY_E_PERMISSION_DENIED unless `caller` may run `spec`'s pods as it asks. */
export async function authorizeContainer(tenancy: JobTenancy, caller: Principal, spec: JobSpec): Promise<void> {
  const needs = sandboxNeeds(spec.container?.user ?? '', spec.container?.capabilities ?? []);
  if (caller.admin) return;
  if (needs.admin)
    throw new GalaxyError(
      'GALAXY_E_PERMISSION_DENIED',
      `job ${spec.name}: container.user root runs its pods as root on the host, which only an admin may`,
    );
  for (const authority of needs.authorities) await tenancy.authorize(caller, spec.pool, authority);
}
