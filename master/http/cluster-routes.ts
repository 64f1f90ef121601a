/**
 * The master's reads over HTTP: agents, frameworks, tasks, DRF shares, usage per user over time,
 * and events (a list, and a server-sent-event stream). Each calls the Operator service's own
 * handler as the caller (`core/http/in-process.ts`), so a non-admin sees here exactly what
 * `galaxy frameworks` / `galaxy tasks` show them.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { inProcessClient } from '../../core/http/in-process.js';
import { API_PREFIX, type HttpApp } from '../../core/http/server.js';
import type { StreamBudget } from '../../core/http/sse.js';
import {
  ListAgentsResponse,
  ListFrameworksResponse,
  ListTasksResponse,
  MasterEvent,
  OperatorService,
} from '../../proto/gen/galaxy/v1/operator.js';
import type { EventFeed } from './event-feed.js';
import { MAX_SERIES_MINUTES, usageSeries } from './usage-series.js';

/** The Operator API as one request's caller. */
export type OperatorAs = (request: FastifyRequest) => ReturnType<typeof inProcessClient<typeof OperatorService>>;

/** The Operator implementation's handlers called as each request's caller. */
export function operatorAs(implementation: UntypedServiceImplementation): OperatorAs {
  return (request) => inProcessClient(OperatorService, implementation, request.caller, `http ${request.ip}`);
}

const anyJson = z.unknown();

/** Adds the cluster routes. `events` gives the event feed of a request's caller (see `event-feed.ts`). */
export function registerClusterRoutes(
  app: HttpApp,
  operator: OperatorAs,
  streams: StreamBudget,
  events: (request: FastifyRequest) => EventFeed,
): void {
  const tags = ['cluster'];
  app.get(
    `${API_PREFIX}/whoami`,
    { schema: { tags, summary: 'The caller the token stands for', response: { 200: anyJson } } },
    (request) => ({ user: request.caller.user, admin: request.caller.admin, kind: request.caller.kind }),
  );
  app.get(
    `${API_PREFIX}/agents`,
    {
      schema: {
        tags,
        summary:
          'Agents with their resources, used and offered, pool, labels, mode and named disks; the disks’ totals per medium',
        response: { 200: anyJson },
      },
    },
    async (request) => ListAgentsResponse.toJSON(await operator(request).listAgents({})),
  );
  app.get(
    `${API_PREFIX}/frameworks`,
    { schema: { tags, summary: 'Frameworks the caller owns (all for an admin)', response: { 200: anyJson } } },
    async (request) => ListFrameworksResponse.toJSON(await operator(request).listFrameworks({})),
  );
  app.get(
    `${API_PREFIX}/tasks`,
    {
      schema: {
        tags,
        summary: 'Tasks the caller may see',
        querystring: z.object({ frameworkId: z.string().max(128).optional() }).strict(),
        response: { 200: anyJson },
      },
    },
    async (request) =>
      ListTasksResponse.toJSON(await operator(request).listTasks({ frameworkId: request.query.frameworkId ?? '' })),
  );
  app.get(
    `${API_PREFIX}/shares`,
    {
      schema: {
        tags,
        summary: 'Weighted dominant shares per role and per framework (the DRF allocator’s view)',
        response: { 200: anyJson },
      },
    },
    async (request) => {
      const api = operator(request);
      const [{ frameworks }, { weights }] = await Promise.all([api.listFrameworks({}), api.getWeights({})]);
      const roles = new Map<string, number>();
      for (const f of frameworks)
        for (const { role, share } of f.roleShares) roles.set(role, (roles.get(role) ?? 0) + share);
      return {
        roles: [...roles].map(([role, share]) => ({ role, share })).sort((a, b) => b.share - a.share),
        frameworks: frameworks.map((f) => ({
          id: f.info?.id ?? '',
          name: f.info?.name ?? '',
          owner: f.owner,
          dominantShare: f.dominantShare,
          roleShares: f.roleShares,
        })),
        weights,
      };
    },
  );
  app.get(
    `${API_PREFIX}/usage`,
    {
      schema: {
        tags,
        summary: 'Usage per user and minute over the last minutes (from the accounting ledger)',
        querystring: z
          .object({
            minutes: z.coerce.number().int().min(1).max(MAX_SERIES_MINUTES).default(30),
            user: z.string().max(64).optional(),
          })
          .strict(),
        response: { 200: anyJson },
      },
    },
    async (request) => {
      const api = operator(request);
      // A non-admin reads their own ledger only (GetAccounting refuses others).
      const user = request.query.user ?? (request.caller.admin ? '' : request.caller.user);
      const totals = await Promise.all(
        Array.from({ length: request.query.minutes + 1 }, (_, k) =>
          k === 0 ? Promise.resolve(undefined) : api.getAccounting({ user, pool: '', sinceS: 60 * k }),
        ),
      );
      return { minutes: request.query.minutes, series: usageSeries(totals, Date.now() / 1000) };
    },
  );
  const eventsQuery = z
    .object({
      sinceS: z.coerce.number().min(0).default(0),
      limit: z.coerce.number().int().min(0).max(10_000).default(200),
    })
    .strict();
  app.get(
    `${API_PREFIX}/events`,
    {
      schema: {
        tags: ['events'],
        summary: 'Events, oldest first',
        querystring: eventsQuery,
        response: { 200: anyJson },
      },
    },
    async (request) => ({
      events: (await events(request).list(request.query.sinceS, request.query.limit)).map((e) => MasterEvent.toJSON(e)),
    }),
  );
  app.get(
    `${API_PREFIX}/events/stream`,
    {
      schema: {
        tags: ['events'],
        summary: 'Events as they happen (text/event-stream: each `event: galaxy-event`, data a MasterEvent)',
        querystring: eventsQuery,
      },
    },
    async (request, reply) => {
      const feed = events(request);
      // The history first (refused before the stream opens if the caller may not read it).
      const history = await feed.list(request.query.sinceS, request.query.limit);
      let stop = (): void => undefined;
      const stream = streams.start(request, reply, () => {
        stop();
      });
      for (const event of history) stream.send('galaxy-event', MasterEvent.toJSON(event));
      stop = feed.follow(
        (event) => {
          stream.send('galaxy-event', MasterEvent.toJSON(event));
        },
        (error) => {
          stream.send('galaxy-error', { message: error instanceof Error ? error.message : String(error) });
          stream.close();
        },
      );
    },
  );
}
