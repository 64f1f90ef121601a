/**
 * Batch specs in and out: read from YAML or JSON text with positions (the CLI), or validated from
 * the API's messages with the same schema (a spec the CLI did not check is held to the same rules),
 * and turned back into the messages the framework stores and serves.
 */
import { parseSpecText, parseSpecValue } from '../../../core/spec/parse.js';
import { volumeInputFromProto, volumeToProto } from '../../../core/spec/volumes.js';
import type { BatchJobSpec, CronSchedule } from '../../../proto/gen/galaxy/v1/batch.js';
import { BatchSpecSchema, type BatchSpec, type BatchSpecInput, type Schedule } from './schema.js';

/**
 * Parses and validates a batch spec (a cron job's too: one with a `schedule`). `source` names the
 * text in error messages (a file name).
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem, as `file:line:col: path: message`.
 */
export function parseBatchSpec(text: string, source = '<spec>'): BatchSpec {
  return parseSpecText(BatchSpecSchema, text, source);
}

/** Drops the entries whose value is undefined (the proto's "unset"). */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A proto number where 0 means "unset" (the field's default applies). */
const set = (n: number): number | undefined => (n === 0 ? undefined : n);

/**
 * A spec as the API received it, in the schema's input form: proto3's zeros and empty strings are
 * "unset" (defaults apply), except `max_retries`, which has presence (0 = no retries).
 */
export function specInputFromProto(spec: BatchJobSpec, schedule?: CronSchedule): Record<string, unknown> {
  const r = spec.resources;
  const l = spec.limits;
  const input: Record<string, unknown> = defined({
    name: spec.name,
    command: spec.command,
    completions: set(spec.completions),
    parallelism: set(spec.parallelism),
    maxRetries: spec.maxRetries,
    backoffS: set(spec.backoffS),
    deadlineS: set(spec.deadlineS),
    band: spec.band === '' ? undefined : spec.band,
    pool: spec.pool === '' ? undefined : spec.pool,
    // Millicores as the schema's millicore form; a port asked for is reported as a field batch lacks.
    resources: r && {
      ...defined({ cpus: `${r.cpus}m`, mem: r.mem, disk: r.disk, gpus: r.gpus }),
      ...(r.ports.length > 0 ? { ports: r.ports } : {}),
    },
    limits:
      l &&
      defined({
        cpuExcess: l.cpuExcess || undefined,
        memSoft: set(l.memSoft),
        pidsMax: set(l.pidsMax),
        blkioWeight: set(l.blkioWeight),
        readBps: set(l.readBps),
        writeBps: set(l.writeBps),
        readIops: set(l.readIops),
        writeIops: set(l.writeIops),
        netTxBps: set(l.netTxBps),
        netRxBps: set(l.netRxBps),
      }),
    volumes: spec.volumes.length > 0 ? spec.volumes.map(volumeInputFromProto) : undefined,
  });
  if (schedule)
    input.schedule = defined({
      cron: schedule.cron,
      timeZone: schedule.timeZone === '' ? undefined : schedule.timeZone,
      concurrencyPolicy: schedule.concurrencyPolicy === '' ? undefined : schedule.concurrencyPolicy,
      startingDeadlineS: set(schedule.startingDeadlineS),
      successfulJobsHistoryLimit: schedule.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: schedule.failedJobsHistoryLimit,
      suspend: schedule.suspend || undefined,
    });
  return input;
}

/**
 * Validates a spec that came through the API (with `schedule`: a cron job's).
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) naming each bad field as `spec: path: message`.
 */
export function batchSpecFromProto(spec: BatchJobSpec, schedule?: CronSchedule): BatchSpec {
  return parseSpecValue(BatchSpecSchema, specInputFromProto(spec, schedule) as BatchSpecInput, 'spec');
}

/** The message form of a validated spec: every field set (parallelism too), units as the proto's. */
export function specToProto(spec: BatchSpec): BatchJobSpec {
  return {
    name: spec.name,
    command: spec.command,
    completions: spec.completions,
    parallelism: spec.parallelism ?? spec.completions,
    maxRetries: spec.maxRetries,
    backoffS: spec.backoffS,
    deadlineS: spec.deadlineS,
    band: spec.band,
    pool: spec.pool,
    resources: { ...spec.resources, ports: [] },
    limits: { ...spec.limits },
    volumes: spec.volumes.map((v) => volumeToProto(v)),
  };
}

/** The message form of a validated schedule. */
export function scheduleToProto(schedule: Schedule): CronSchedule {
  return { ...schedule };
}
