/**
 * The part of a job spec an AppWorker acts on: its package, commands, health check, data
 * packages, environment and policies. The AppMaster sends the pod's template as JSON in its
 * parsed form; the worker reads only these fields, with the schema's own definitions.
 */
import { z } from 'zod';
import { GalaxyError } from '../../../core/errors.js';
import { JobSpecSchema } from '../spec/schema.js';

const spec = JobSpecSchema.shape;

/**
 * The fields of a {@link JobSpecSchema} job the worker needs. Other fields (resources, volumes…)
 * are dropped: they concern the container, not the service, and their parsed form (millicores as
 * integers) does not read back through the input schema.
 */
export const WorkerTemplateSchema = z.object({
  name: spec.name,
  ports: spec.ports,
  package: spec.package,
  commands: spec.commands,
  health: spec.health,
  liveness: spec.liveness,
  data: spec.data,
  env: spec.env,
  deploy: spec.deploy,
  failure: spec.failure,
});

/** What the worker runs: one revision of a job, as far as the service is concerned. */
export type WorkerTemplate = z.output<typeof WorkerTemplateSchema>;

/** Reads a `template_json`; throws GALAXY_E_SPEC_INVALID naming the first bad path. */
export function parseTemplate(json: string): WorkerTemplate {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new GalaxyError('GALAXY_E_SPEC_INVALID', `the pod template is not JSON: ${(error as Error).message}`);
  }
  const result = WorkerTemplateSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    throw new GalaxyError(
      'GALAXY_E_SPEC_INVALID',
      `the pod template is invalid at "${where}": ${issue?.message ?? ''}`,
    );
  }
  return result.data;
}
