/**
 * The job spec of the AppMaster, defined once: this zod schema is what the CLI, the AppMaster and
 * the AppWorker validate against, and what `schemas/job.schema.json` is generated from.
 *
 * Quantities are written as people write them (`256Mi`, `0.5` cores or `500m`) and come out of
 * parsing as integers: millicores, bytes, bits per second.
 */
import { z } from 'zod';
import { parseCapabilities } from '../../../core/capabilities.js';
import { GalaxyError } from '../../../core/errors.js';
import { bitsPerSecond, bytes, millicores } from '../../../core/spec/quantities.js';
import { MAX_VOLUMES, PodVolumeSchema } from '../../../core/spec/volumes.js';

/** A job, pod-port or service name: lower-case letters, digits and `-`, starting with a letter. */
export const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const name = z.string().regex(NAME, 'must be lower-case letters, digits and "-", starting with a letter (≤ 63)');

/** Seconds, fractional allowed. */
const seconds = (max: number) => z.number().nonnegative().max(max);

/** A package: an archive (`.tar.gz`/`.tgz`/`.tar`) fetched by URL and verified. */
export const PackageSchema = z.strictObject({
  /** `file:///abs/path.tar.gz`, `http://…` or `https://…`. */
  source: z.string().regex(/^(file:\/\/\/|https?:\/\/)\S+$/, 'must be a file:///, http:// or https:// URL'),
  /** Shown in `job show`; a change of version is an in-place rebuild. */
  version: z.string().min(1).max(64),
  /** Hex SHA-256 of the archive. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
});

/** A path inside the sandbox: relative, with no `..` segment. */
const sandboxPath = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (p) => !p.startsWith('/') && !p.split('/').includes('..'),
    'must stay inside the sandbox (relative, no "..")',
  );

/** A data package: unpacked into `dest` (relative to the sandbox), then the reload command runs. */
export const DataPackageSchema = PackageSchema.extend({
  name,
  /** Relative path inside the sandbox; no `..`, not absolute. */
  dest: sandboxPath,
});

/** How the AppWorker checks a service. */
export const HealthSchema = z.strictObject({
  /** `http`: GET `path` on `port` wants 2xx/3xx; `tcp`: connect to `port`; `command`: exit 0. */
  type: z.enum(['http', 'tcp', 'command']),
  /** For http and tcp: the name of one of the job's ports. */
  port: name.optional(),
  path: z.string().startsWith('/').max(500).default('/health'),
  command: z.string().min(1).max(4096).optional(),
  intervalS: seconds(3600).default(2),
  timeoutS: seconds(600).default(1),
  /** Failures during the first `graceS` after start do not count. */
  graceS: seconds(3600).default(5),
  /** Consecutive failures before the pod is unhealthy. */
  failures: z.number().int().min(1).max(100).default(3),
});

/**
 * The liveness check: the readiness check's fields (`health` is the readiness check: it gates
 * naming and the rollout), plus what happens when it fails. `failures` consecutive failures make
 * the AppWorker restart the service in place; `maxRestarts` such restarts within `windowS` make
 * the AppMaster replace the pod with a new container.
 */
export const LivenessSchema = HealthSchema.extend({
  /** Liveness restarts within `windowS` before the pod is replaced. */
  maxRestarts: z.number().int().min(1).max(100).default(3),
  windowS: seconds(86_400).min(1).default(600),
});

/** The service's commands; each runs with `/bin/sh -c` in the package's directory. */
export const CommandsSchema = z.strictObject({
  start: z.string().min(1).max(4096),
  /** Runs first on stop; then SIGTERM, then SIGKILL after `deploy.stopTimeoutS`. */
  stop: z.string().min(1).max(4096).optional(),
  /** Runs after data packages are unpacked, without a restart. */
  reload: z.string().min(1).max(4096).optional(),
});

/** A port the pod needs: a fixed number, or `dynamic` (one from the offer). */
export const PortSchema = z.strictObject({
  name,
  port: z.union([z.literal('dynamic'), z.number().int().min(1).max(65535)]).default('dynamic'),
});

/** Per-pod resources and limits. */
export const ResourcesSchema = z.strictObject({
  cpu: z.strictObject({
    /** Reserved cpu. */
    millicores,
    /** false (hard): a CFS quota at `millicores`; true (soft): shares only, idle cpu may be used. */
    excess: z.boolean().default(false),
  }),
  memory: z.strictObject({
    /** Reserved and enforced (the OOM limit). */
    hard: bytes,
    /** Soft limit: reclaimed towards it under pressure; ≤ hard. */
    soft: bytes.optional(),
  }),
  disk: z
    .strictObject({
      size: bytes,
      readBps: bytes.optional(),
      writeBps: bytes.optional(),
      readIops: z.number().int().nonnegative().optional(),
      writeIops: z.number().int().nonnegative().optional(),
    })
    .optional(),
  blkio: z.strictObject({ weight: z.number().int().min(10).max(1000) }).optional(),
  tcp: z.strictObject({ txBps: bitsPerSecond.optional(), rxBps: bitsPerSecond.optional() }).optional(),
  pids: z.number().int().min(1).max(1_000_000).optional(),
});

export { PodVolumeSchema, VolumeSchema } from '../../../core/spec/volumes.js';

/**
 * The pod's container beyond the defaults (docs/security.md, "Users and capabilities"): by
 * default the AppWorker is the root of the container's own user namespace and the service runs
 * as its user `galaxy`. `user` runs the whole pod as that host user instead (authority
 * `task:run-as`; `root`: admins only); `capabilities` adds to the default bounding set
 * (authority `task:capabilities`); `rootfs` is a root filesystem image in place of the host's
 * system directories (docs/security.md, "Root filesystem").
 */
export const ContainerSchema = z.strictObject({
  rootfs: z
    .strictObject({
      /** `http(s)://…`, or `file:///…` under the agents' `--allowed-host-paths`. */
      source: z
        .string()
        .max(2048)
        .regex(/^(file:\/\/\/|https?:\/\/)\S+$/, 'must be a file:///, http:// or https:// URL'),
      /** Hex SHA-256 of the tarball. */
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
    })
    .optional(),
  user: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'must be a user name on the agents')
    .optional(),
  capabilities: z
    .array(z.string().max(40))
    .max(41)
    .default([])
    .superRefine((names, ctx) => {
      try {
        parseCapabilities(names, 'capabilities');
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof GalaxyError ? error.detail : String(error) });
      }
    }),
});

/** A service endpoint published to naming. */
export const ServiceSchema = z.strictObject({
  name,
  /** The name of one of the job's ports. */
  port: name,
  /** Publish as healthy only while the health check passes. */
  useHealth: z.boolean().default(true),
});

/** A count of pods, or a percentage of replicas (`25%`). */
const surgeValue = z.union([
  z.number().int().min(0).max(10_000),
  z.string().regex(/^(100|[1-9]?[0-9])%$/, 'must be a count or a percentage from 0% to 100%'),
]);

/** How updates roll out and how failures are handled. */
export const DeploySchema = z.strictObject({
  /** Pods changed at once. */
  step: z.number().int().min(1).max(10_000).default(1),
  /** Seconds an updated pod must stay healthy before the next step. */
  intervalS: seconds(86_400).default(0),
  /** Pause the update after this many pods are updated; 0 = no breakpoint. */
  breakpoint: z.number().int().min(0).max(100_000).default(0),
  /** Between the stop command/SIGTERM and SIGKILL. */
  stopTimeoutS: seconds(3600).default(10),
  /** The update stops after this many pods fail it. */
  maxFailures: z.number().int().min(1).max(10_000).default(1),
  /** Roll back to the previous version when the update stops on failures. */
  autoRollback: z.boolean().default(false),
  /** A pod that has not become healthy after this long is replaced elsewhere. */
  deployTimeoutS: seconds(86_400).default(300),
  /**
   * As Kubernetes defines it: how many pods above `replicas` an update may run (a count, or a
   * percentage of replicas rounded up). Setting it or `maxUnavailable` rolls by availability
   * instead of `step`: new pods start before old ones stop.
   */
  maxSurge: surgeValue.optional(),
  /** How many of `replicas` may be unavailable during an update (a count, or a percentage rounded down). */
  maxUnavailable: surgeValue.optional(),
  /** Revisions kept for `galaxy job history` and `rollback --to`. */
  keepRevisions: z.number().int().min(1).max(50).default(10),
});

/** Restarts and host blacklisting. */
export const FailureSchema = z.strictObject({
  /** First restart delay of a crashed process; doubles up to `maxBackoffS`. */
  backoffS: seconds(3600).default(1),
  maxBackoffS: seconds(86_400).default(60),
  /** A host is blacklisted for the job after this many pod failures there. */
  blacklistAfter: z.number().int().min(1).max(1000).default(3),
  /** A host's failures of the job are forgotten this long after the last one (0 = never). */
  blacklistExpiryS: seconds(30 * 86_400).default(3600),
});

/**
 * Cross-field rules run only on fields that are valid on their own: a memory of `-1` is reported
 * once as negative, not again as "below 4Mi" and "less than memory.soft".
 */
const crossFieldsWhenValid = { when: (payload: z.core.ParsePayload) => payload.issues.length === 0 };

const labelValue = z.string().min(1).max(128);

/** Most labels and environment variables a spec may name: a spec is a page, and every pull carries it. */
export const MAX_LABELS = 64;
export const MAX_ENV = 256;

/** A map of at most `max` entries. */
const atMost =
  (max: number, what: string) =>
  (value: Record<string, unknown>, ctx: z.core.$RefinementCtx): void => {
    const count = Object.keys(value).length;
    if (count > max) ctx.addIssue({ code: 'custom', message: `has ${count} ${what}; at most ${max} are allowed` });
  };

/** A job as a user writes it. */
export const JobSpecSchema = z
  .strictObject({
    name,
    band: z.enum(['service', 'production', 'batch', 'best-effort', 'monitoring']).default('service'),
    pool: z.string().regex(NAME).default('default'),
    /** Agent attributes a host must carry (key → value; `*` = any value). */
    labels: z
      .record(z.string().regex(/^[A-Za-z0-9_./-]{1,63}$/), labelValue)
      .superRefine(atMost(MAX_LABELS, 'labels'))
      .default({}),
    replicas: z.number().int().min(0).max(10_000),
    /** Most pods of this job on one host; 0 = no limit. */
    maxPerHost: z.number().int().min(0).max(10_000).default(0),
    ports: z.array(PortSchema).max(32).default([]),
    resources: ResourcesSchema,
    volumes: z.array(PodVolumeSchema).max(MAX_VOLUMES).default([]),
    container: ContainerSchema.optional(),
    package: PackageSchema,
    commands: CommandsSchema,
    health: HealthSchema.optional(),
    liveness: LivenessSchema.optional(),
    data: z.array(DataPackageSchema).max(32).default([]),
    services: z.array(ServiceSchema).max(32).default([]),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(4096))
      .superRefine(atMost(MAX_ENV, 'variables'))
      .default({}),
    deploy: DeploySchema.default(DeploySchema.parse({})),
    failure: FailureSchema.default(FailureSchema.parse({})),
  })
  .superRefine((spec, ctx) => {
    const portNames = new Set<string>();
    const fixed = new Set<number>();
    spec.ports.forEach((p, i) => {
      if (portNames.has(p.name))
        ctx.addIssue({ code: 'custom', path: ['ports', i, 'name'], message: `port "${p.name}" is named twice` });
      portNames.add(p.name);
      if (typeof p.port === 'number') {
        if (fixed.has(p.port))
          ctx.addIssue({ code: 'custom', path: ['ports', i, 'port'], message: `port ${p.port} is asked for twice` });
        fixed.add(p.port);
      }
    });
    const needPort = (port: string | undefined, path: (string | number)[]): void => {
      if (port !== undefined && !portNames.has(port))
        ctx.addIssue({ code: 'custom', path, message: `names port "${port}", which is not in ports` });
    };
    spec.services.forEach((s, i) => {
      needPort(s.port, ['services', i, 'port']);
    });
    for (const field of ['health', 'liveness'] as const) {
      const h = spec[field];
      if (!h) continue;
      if (h.type === 'command' && h.command === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field, 'command'],
          message: `a command ${field} check needs a command`,
        });
      if (h.type !== 'command' && h.port === undefined)
        ctx.addIssue({ code: 'custom', path: [field, 'port'], message: `a ${h.type} ${field} check needs a port` });
      needPort(h.port, [field, 'port']);
    }
    const { maxSurge, maxUnavailable } = spec.deploy;
    if ((maxSurge === 0 || maxSurge === '0%') && (maxUnavailable === 0 || maxUnavailable === '0%'))
      ctx.addIssue({
        code: 'custom',
        path: ['deploy', 'maxUnavailable'],
        message: 'maxSurge and maxUnavailable cannot both be 0: the update could never move a pod',
      });
    const mem = spec.resources.memory;
    if (mem.soft !== undefined && mem.soft > mem.hard)
      ctx.addIssue({ code: 'custom', path: ['resources', 'memory', 'soft'], message: 'must not exceed memory.hard' });
    if (mem.hard < 4 * 1024 * 1024)
      ctx.addIssue({ code: 'custom', path: ['resources', 'memory', 'hard'], message: 'must be at least 4Mi' });
    if (spec.data.length > 0 && spec.commands.reload === undefined)
      ctx.addIssue({ code: 'custom', path: ['commands', 'reload'], message: 'data packages need a reload command' });
    const names = new Set<string>();
    spec.data.forEach((d, i) => {
      if (names.has(d.name))
        ctx.addIssue({
          code: 'custom',
          path: ['data', i, 'name'],
          message: `data package "${d.name}" is named twice`,
        });
      names.add(d.name);
    });
  }, crossFieldsWhenValid);

/** A job spec as written (before defaults and unit parsing). */
export type JobSpecInput = z.input<typeof JobSpecSchema>;
/** A validated job spec: defaults filled in, quantities as integers. */
export type JobSpec = z.output<typeof JobSpecSchema>;
export type PackageSpec = z.output<typeof PackageSchema>;
export type DataPackageSpec = z.output<typeof DataPackageSchema>;
export type HealthSpec = z.output<typeof HealthSchema>;
export type LivenessSpec = z.output<typeof LivenessSchema>;
export type CommandsSpec = z.output<typeof CommandsSchema>;
export type DeploySpec = z.output<typeof DeploySchema>;
export type FailureSpec = z.output<typeof FailureSchema>;
