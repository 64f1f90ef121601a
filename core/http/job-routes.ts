/**
 * The AppMaster's verbs over HTTP: read jobs and act on them (submit, update (with a canary),
 * scale, pause, continue, rollback (to a kept revision), cancel, promote, abort, stop, remove). One set of routes for both places that serve them: the
 * AppMaster (calling its own handlers in-process) and the master (calling the AppMaster leader's
 * gRPC API with the caller's own token, for the console). Either way the AppMaster decides what
 * the caller may do, as it does for `galaxy job …`.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { PromiseClient } from '../promise-client.js';
import {
  JobStatus,
  ListJobsResponse,
  UpdateControl,
  type AppMasterService,
} from '../../proto/gen/galaxy/v1/appmaster.js';
import { GalaxyError } from '../errors.js';
import { API_PREFIX, type HttpApp } from './server.js';

/** The AppMaster API as one caller sees it. */
export type JobsApi = Pick<
  PromiseClient<typeof AppMasterService>,
  'listJobs' | 'showJob' | 'submitJob' | 'updateJob' | 'scaleJob' | 'controlUpdate' | 'stopJob' | 'removeJob'
>;

/** Gives the AppMaster API for one request's caller (in-process, or through the network). */
export type JobsBackend = (request: FastifyRequest) => JobsApi;

/** A job name as the AppMaster's spec allows it (the AppMaster checks it again). */
const jobName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a job name is lowercase letters, digits and dashes');
const nameParams = z.object({ name: jobName });
/** A job spec as JSON (its schema: `schemas/job.schema.json`; the AppMaster validates it). */
const specBody = z.record(z.string(), z.unknown()).describe('a job spec (schemas/job.schema.json)');
const jobReply = { 200: z.unknown().describe('JobStatus (proto3 JSON)') };

const controls = {
  pause: UpdateControl.UPDATE_PAUSE,
  continue: UpdateControl.UPDATE_CONTINUE,
  rollback: UpdateControl.UPDATE_ROLLBACK,
  cancel: UpdateControl.UPDATE_CANCEL,
  promote: UpdateControl.UPDATE_PROMOTE,
  abort: UpdateControl.UPDATE_ABORT,
} as const;

/** What a control may carry: rollback, with no update running, to a kept revision (0: the one before). */
const controlBody = z
  .object({ toRevision: z.number().int().min(0).max(1_000_000).optional() })
  .strict()
  .nullish();
/** An update may hold after this many pods (`galaxy job update --canary N`). */
const updateQuery = z.object({ canary: z.coerce.number().int().min(1).max(100_000).optional() }).strict();

/** Adds the job routes to `app`, each calling `backend` for its caller. */
export function registerJobRoutes(app: HttpApp, backend: JobsBackend): void {
  const tags = ['jobs'];
  const status = (job: JobStatus) => JobStatus.toJSON(job);
  app.get(
    `${API_PREFIX}/jobs`,
    { schema: { tags, summary: 'Jobs the caller may see', response: { 200: z.unknown() } } },
    async (request) => ListJobsResponse.toJSON(await backend(request).listJobs({})),
  );
  app.get(
    `${API_PREFIX}/jobs/:name`,
    { schema: { tags, summary: 'One job with its pods and update progress', params: nameParams, response: jobReply } },
    async (request) => status(await backend(request).showJob({ name: request.params.name })),
  );
  app.post(
    `${API_PREFIX}/jobs`,
    { schema: { tags, summary: 'Submit a job', body: specBody, response: jobReply } },
    async (request) => status(await backend(request).submitJob({ specJson: JSON.stringify(request.body) })),
  );
  app.put(
    `${API_PREFIX}/jobs/:name`,
    {
      schema: {
        tags,
        summary: "Update a job's spec (a rolling update)",
        params: nameParams,
        querystring: updateQuery,
        body: specBody,
        response: jobReply,
      },
    },
    async (request) => {
      const spec = { ...request.body, name: request.params.name };
      const { canary } = request.query;
      return status(
        await backend(request).updateJob({
          specJson: JSON.stringify(spec),
          ...(canary === undefined ? {} : { canary }),
        }),
      );
    },
  );
  app.post(
    `${API_PREFIX}/jobs/:name/scale`,
    {
      schema: {
        tags,
        summary: 'Change the number of replicas',
        params: nameParams,
        body: z.object({ replicas: z.number().int().min(0).max(100_000) }).strict(),
        response: jobReply,
      },
    },
    async (request) =>
      status(await backend(request).scaleJob({ name: request.params.name, replicas: request.body.replicas })),
  );
  for (const [verb, control] of Object.entries(controls))
    app.post(
      `${API_PREFIX}/jobs/:name/${verb}`,
      {
        schema: {
          tags,
          summary: `${verb} the job's rolling update`,
          params: nameParams,
          body: controlBody,
          response: jobReply,
        },
      },
      async (request) => {
        const toRevision = request.body?.toRevision;
        if (toRevision !== undefined && control !== UpdateControl.UPDATE_ROLLBACK)
          throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `body/toRevision is for rollback only, not ${verb}`);
        return status(
          await backend(request).controlUpdate({
            name: request.params.name,
            control,
            ...(toRevision === undefined ? {} : { toRevision }),
          }),
        );
      },
    );
  app.post(
    `${API_PREFIX}/jobs/:name/stop`,
    { schema: { tags, summary: "Stop a job's pods (the job is kept)", params: nameParams, response: jobReply } },
    async (request) => status(await backend(request).stopJob({ name: request.params.name })),
  );
  app.delete(
    `${API_PREFIX}/jobs/:name`,
    { schema: { tags, summary: 'Remove a job', params: nameParams, response: jobReply } },
    async (request) => status(await backend(request).removeJob({ name: request.params.name })),
  );
}
