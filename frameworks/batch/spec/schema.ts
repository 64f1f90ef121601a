/**
 * The batch job spec, defined once: this zod schema is what `galaxy batch submit -f`, `galaxy batch
 * validate`, `galaxy batch cron create` and the batch framework's API validate against, and what
 * `schemas/batch.schema.json` is generated from. A spec with a `schedule` is a cron job.
 *
 * Quantities are written as people write them (`cpus: 0.5` or `500m`, `mem: 256Mi`) and come out
 * of parsing as integers: millicores, bytes, bits per second.
 */
import { z } from 'zod';
import { bitsPerSecond, bytes, cores } from '../../../core/spec/quantities.js';
import { MAX_VOLUMES, VolumeSchema } from '../../../core/spec/volumes.js';
import { cronProblem, isTimeZone } from '../cron/schedule.js';

/** Most completions one job may ask for. */
export const MAX_COMPLETIONS = 1_000_000;

/** A job name: as every Galaxy id (letters, digits, `_ . : @ -`), without `..`. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$/;

/** The longest cron job name: its runs are named `<name>-<unix seconds>`, which must stay an id. */
export const MAX_CRON_NAME = 180;

const seconds = (max: number) => z.number().nonnegative().max(max);

/** Per-task resources. */
export const BatchResourcesSchema = z.strictObject({
  /** Cores: `0.5`, `"0.5"` or `500m`. */
  cpus: cores.prefault(0.1),
  mem: bytes.prefault('32Mi'),
  disk: bytes.default(0),
  gpus: z.number().int().min(0).max(64).default(0),
});

/** Per-task limits beyond the reservation (the agent's isolators enforce them). */
export const BatchLimitsSchema = z.strictObject({
  /** true: cpus are a soft limit (shares only); false: a hard CFS quota. */
  cpuExcess: z.boolean().default(false),
  /** A soft memory limit below `resources.mem`. */
  memSoft: bytes.default(0),
  /** Most processes at once; 0 = the agent's default. */
  pidsMax: z.number().int().min(0).max(1_000_000).default(0),
  /** 10..1000 share of the disk; 0 = default. */
  blkioWeight: z.union([z.literal(0), z.number().int().min(10).max(1000)]).default(0),
  readBps: bytes.default(0),
  writeBps: bytes.default(0),
  readIops: z.number().int().nonnegative().default(0),
  writeIops: z.number().int().nonnegative().default(0),
  /** Bits per second the task may send (`10M`); 0 = unlimited. */
  netTxBps: bitsPerSecond.default(0),
  netRxBps: bitsPerSecond.default(0),
});

/** The concurrency policies of a cron job, as Kubernetes names them. */
export const CONCURRENCY_POLICIES = ['Allow', 'Forbid', 'Replace'] as const;

/** When a cron job runs; see docs/batch.md. */
export const ScheduleSchema = z
  .strictObject({
    /** 5 fields (minute hour day month weekday), 6 with seconds first, or `@daily`, `@hourly`, … */
    cron: z.string().min(1),
    /** IANA time zone the expression is read in. */
    timeZone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'is not a time zone (an IANA name such as Europe/Berlin or UTC)')
      .default('UTC'),
    /** A run due while an earlier one is active: Allow it, Forbid it (it waits), or Replace the earlier one. */
    concurrencyPolicy: z.enum(CONCURRENCY_POLICIES).default('Allow'),
    /** A run that cannot start within this many seconds of its time is missed; 0 = no deadline. */
    startingDeadlineS: seconds(30 * 86_400).default(0),
    /** Finished runs kept that succeeded. */
    successfulJobsHistoryLimit: z.number().int().min(0).max(100).default(3),
    /** Finished runs kept that failed or were cancelled. */
    failedJobsHistoryLimit: z.number().int().min(0).max(100).default(1),
    /** Created suspended: no run starts until it is resumed. */
    suspend: z.boolean().default(false),
  })
  .superRefine((schedule, ctx) => {
    const problem = cronProblem(schedule.cron, schedule.timeZone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  });

/** A batch job (or, with `schedule`, a cron job) as a user writes it. */
export const BatchSpecSchema = z
  .strictObject({
    name: z
      .string()
      .regex(ID, 'must be letters, digits and _ . : @ -, starting with a letter or digit (≤ 200)')
      .refine((name) => !name.includes('..'), 'must not contain ".."'),
    /** Runs with `/bin/sh -c`; `$GALAXY_COMPLETION_INDEX` tells a task which completion it is. */
    command: z
      .string()
      .max(64 * 1024)
      .refine((command) => command.trim() !== '', 'is empty'),
    /** Tasks that must succeed, indexed 0..completions-1. */
    completions: z.number().int().min(1).max(MAX_COMPLETIONS).default(1),
    /** Most tasks running at once; default: all completions. */
    parallelism: z.number().int().min(1).max(MAX_COMPLETIONS).optional(),
    /** Retries per completion index; 0 = none. */
    maxRetries: z.number().int().min(0).max(100).default(3),
    /** The first retry's delay; it doubles with every retry of the index. */
    backoffS: z.number().gt(0).max(3600).default(1),
    /** The job fails when it runs longer; 0 = no deadline. */
    deadlineS: seconds(30 * 86_400).default(0),
    /** `batch`, or `best-effort` (the first to be preempted; may run on revocable resources). */
    band: z.enum(['batch', 'best-effort']).default('batch'),
    pool: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,63}$/, 'must be a pool name')
      .default('default'),
    resources: BatchResourcesSchema.default(BatchResourcesSchema.parse({})),
    limits: BatchLimitsSchema.default(BatchLimitsSchema.parse({})),
    /**
     * Mounted into each task's container: tmpfs of a size, or binds of host paths (read-only unless
     * `readOnly: false`; only agents whose --allowed-host-paths cover them run the tasks).
     */
    volumes: z.array(VolumeSchema).max(MAX_VOLUMES).default([]),
    /** Makes it a cron job (`galaxy batch cron create`): a run of the job at every time of the schedule. */
    schedule: ScheduleSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.resources.cpus <= 0 && spec.resources.mem <= 0)
      ctx.addIssue({ code: 'custom', path: ['resources'], message: 'a task needs some cpus or mem' });
    if (spec.limits.memSoft > spec.resources.mem)
      ctx.addIssue({ code: 'custom', path: ['limits', 'memSoft'], message: 'must not exceed resources.mem' });
    if (spec.schedule && spec.name.length > MAX_CRON_NAME)
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `a cron job's name has at most ${MAX_CRON_NAME} characters (its runs add "-<time>")`,
      });
  }, crossFieldsWhenValid());

/** Cross-field rules run only on fields that are valid on their own. */
function crossFieldsWhenValid() {
  return { when: (payload: z.core.ParsePayload) => payload.issues.length === 0 };
}

/** A batch spec as written (before defaults and unit parsing). */
export type BatchSpecInput = z.input<typeof BatchSpecSchema>;
/** A validated batch spec: defaults filled in, quantities as integers. */
export type BatchSpec = z.output<typeof BatchSpecSchema>;
/** A validated schedule. */
export type Schedule = z.output<typeof ScheduleSchema>;
/** A concurrency policy. */
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];
