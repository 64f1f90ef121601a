/**
 * Every error Galaxy reports is a {@link GalaxyError} with a stable code from {@link ErrorCodes}.
 * The message says what went wrong, where, and what to do; the code is what programs match on.
 */
import type { status } from '@grpc/grpc-js';

/** A gRPC status name (`NOT_FOUND`, …): how a code goes out over gRPC (`core/grpc-errors.ts`). */
export type GrpcStatusName = keyof typeof status;

/** What each code declares: its gRPC status and the default hint shown with it. */
export interface ErrorCodeInfo {
  /** The gRPC status the code goes out as; `INTERNAL` only for what really is a bug. */
  readonly status: GrpcStatusName;
  readonly hint: string;
}

/**
 * All error codes, in one place, each with its gRPC status beside it. A new code must name its
 * status here (TypeScript refuses one without), so none goes out as INTERNAL by omission.
 */
export const ErrorCodes = {
  GALAXY_E_INVALID_ARGUMENT: { status: 'INVALID_ARGUMENT', hint: 'a request or flag is malformed' },
  GALAXY_E_INVALID_RESOURCES: { status: 'INVALID_ARGUMENT', hint: 'a resource quantity or range is malformed' },
  GALAXY_E_OFFER_UNKNOWN: {
    status: 'NOT_FOUND',
    hint: 'the offer does not exist or was already used, declined or rescinded',
  },
  GALAXY_E_OFFER_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    hint: 'offers in one ACCEPT must belong to the caller and to one agent',
  },
  GALAXY_E_OVERCOMMIT: { status: 'FAILED_PRECONDITION', hint: 'the operations ask for more than the offers hold' },
  GALAXY_E_REVOCABLE_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    hint: 'tasks launched from revocable offers must set on_revocable, and only they may; one ACCEPT uses revocable offers or regular ones, not both (docs/resources.md)',
  },
  GALAXY_E_TASK_INVALID: { status: 'INVALID_ARGUMENT', hint: 'a task in a LAUNCH operation is malformed' },
  GALAXY_E_TASK_DUPLICATE: { status: 'ALREADY_EXISTS', hint: 'a task id is already in use by the framework' },
  GALAXY_E_TASK_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such task' },
  GALAXY_E_FRAMEWORK_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such framework, or it is not subscribed' },
  GALAXY_E_FRAMEWORK_INVALID: { status: 'INVALID_ARGUMENT', hint: 'the framework info is malformed' },
  GALAXY_E_FRAMEWORK_DUPLICATE: { status: 'ALREADY_EXISTS', hint: 'a framework with this id is already known' },
  GALAXY_E_AGENT_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such agent' },
  GALAXY_E_AGENT_DUPLICATE: { status: 'ALREADY_EXISTS', hint: 'an agent with this id is already connected' },
  GALAXY_E_AGENT_NOT_CONNECTED: {
    status: 'FAILED_PRECONDITION',
    hint: 'the agent is not connected to the master: start it on its work dir (its containers are still there), then ask again',
  },
  GALAXY_E_AGENT_INVALID: { status: 'INVALID_ARGUMENT', hint: 'the agent registration is malformed' },
  GALAXY_E_NOT_REGISTERED: { status: 'FAILED_PRECONDITION', hint: 'the agent must register before anything else' },
  GALAXY_E_PLUGIN_LOAD: {
    status: 'FAILED_PRECONDITION',
    hint: 'a plugin module could not be loaded or does not export a plugin (a factory, or apply)',
  },
  GALAXY_E_PLUGIN_KIND: {
    status: 'FAILED_PRECONDITION',
    hint: "a plugin is of another kind than the host loading it (or declares none): give a master plugin to `galaxy master --plugin`, an agent plugin to `galaxy agent --plugin`, and declare `kind` in the plugin's metadata",
  },
  GALAXY_E_PLUGIN_INCOMPATIBLE: {
    status: 'FAILED_PRECONDITION',
    hint: 'a plugin declares metadata this host cannot satisfy',
  },
  GALAXY_E_UNAVAILABLE: { status: 'UNAVAILABLE', hint: 'the master cannot be reached' },
  GALAXY_E_LAUNCH_FAILED: { status: 'FAILED_PRECONDITION', hint: 'the agent could not start the task' },
  GALAXY_E_SPEC_INVALID: {
    status: 'INVALID_ARGUMENT',
    hint: 'a job spec does not match the schema; the message names the path and line',
  },
  GALAXY_E_JOB_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such job' },
  GALAXY_E_JOB_DUPLICATE: { status: 'ALREADY_EXISTS', hint: 'a job with this name already exists' },
  GALAXY_E_NAME_TAKEN: {
    status: 'ALREADY_EXISTS',
    hint: "the name is held by another user's job (or its naming entry); choose another name",
  },
  GALAXY_E_JOB_STATE: {
    status: 'FAILED_PRECONDITION',
    hint: 'the job is not in a state that allows this (e.g. continue with no paused update)',
  },
  GALAXY_E_POD_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such pod in the job' },
  GALAXY_E_PACKAGE: {
    status: 'FAILED_PRECONDITION',
    hint: 'a package could not be fetched, failed its checksum, or holds a path that escapes the sandbox',
  },
  GALAXY_E_IMAGE: {
    status: 'FAILED_PRECONDITION',
    hint: "a root filesystem image could not be fetched, failed its sha256, was too large for the agent's image cache (--image-cache), or holds an entry that escapes; fix container.rootfs's url or sha256",
  },
  GALAXY_E_COORD_CONFLICT: { status: 'ABORTED', hint: 'a compare-and-set lost: the key changed since it was read' },
  GALAXY_E_COORD_NO_NODE: { status: 'NOT_FOUND', hint: 'the coordinator has no such key' },
  GALAXY_E_COORD_EXISTS: { status: 'ALREADY_EXISTS', hint: 'the coordinator key already exists' },
  GALAXY_E_COORD_UNAVAILABLE: { status: 'UNAVAILABLE', hint: 'the coordinator backend cannot be reached or is closed' },
  GALAXY_E_COORD_DENIED: {
    status: 'PERMISSION_DENIED',
    hint: "the coordinator refused access: Galaxy's ZooKeeper znodes are readable by holders of the cluster secret only; give every daemon the same secret file (zk://…?secret=/path/to/file)",
  },
  GALAXY_E_NOT_LEADER: {
    status: 'UNAVAILABLE',
    hint: 'this process is a standby; the message names the leader to call instead',
  },
  GALAXY_E_INTERNAL: { status: 'INTERNAL', hint: 'an unexpected internal error' },
  GALAXY_E_UNAUTHENTICATED: {
    status: 'UNAUTHENTICATED',
    hint: 'the call carries no valid bearer token; pass --token, $GALAXY_TOKEN or ./.galaxy/admin.token',
  },
  GALAXY_E_USER_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such user' },
  GALAXY_E_USER_DUPLICATE: { status: 'ALREADY_EXISTS', hint: 'a user with this name already exists' },
  GALAXY_E_PERMISSION_DENIED: {
    status: 'PERMISSION_DENIED',
    hint: 'the caller lacks the authority for this in this pool; an admin grants it (galaxy grant)',
  },
  GALAXY_E_QUOTA_EXCEEDED: {
    status: 'RESOURCE_EXHAUSTED',
    hint: 'the request would take the user past their quota; the message names requested, used and limit',
  },
  GALAXY_E_CGROUP_UNSUPPORTED: {
    status: 'FAILED_PRECONDITION',
    hint: 'this cgroup version cannot express the limit; the message names the setting (run the agent on a v1 host, or drop the limit)',
  },
  GALAXY_E_POOL_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such pool in the registry; galaxy pool add creates it' },
  GALAXY_E_POOL_DUPLICATE: { status: 'ALREADY_EXISTS', hint: 'a pool with this name is already in the registry' },
  GALAXY_E_POOL_IN_USE: {
    status: 'FAILED_PRECONDITION',
    hint: 'agents are still in this pool; assign them elsewhere first (galaxy pool assign)',
  },
  GALAXY_E_DISK_INVALID: {
    status: 'INVALID_ARGUMENT',
    hint: 'galaxy agent --disks takes name:path:medium:size,… (medium ssd, hdd or tmpfs; path an existing directory); --disks-from <dir> takes the filesystems mounted at <dir>/<name> (docs/disks.md)',
  },
  GALAXY_E_DISK_VOLUME_FAILED: {
    status: 'FAILED_PRECONDITION',
    hint: "the agent could not make the volume on its disk: see the message, and the disk's free space",
  },
  GALAXY_E_VOLUME_IN_USE: {
    status: 'FAILED_PRECONDITION',
    hint: "the volume's pod has a container: stop the job (or its pod) first, or pass --force to delete the volume when that container ends",
  },
  GALAXY_E_VOLUME_UNKNOWN: { status: 'NOT_FOUND', hint: 'no such persistent volume: galaxy volume list shows them' },
  GALAXY_E_KEPT_VOLUMES_REFUSED: {
    status: 'INVALID_ARGUMENT',
    hint: "an agent's report of its kept persistent volumes does not fit its disks: see the agent's <disk>/.galaxy-volumes records",
  },
  GALAXY_E_HOST_PATH_DENIED: {
    status: 'PERMISSION_DENIED',
    hint: "a bind volume names a host path the agent does not allow (never /, /etc, /proc, /sys, /dev or the agent's work dir); the operator lists allowed ones with galaxy agent --allowed-host-paths",
  },
  GALAXY_E_RESERVATION_INVALID: {
    status: 'INVALID_ARGUMENT',
    hint: 'a reservation is malformed, exceeds the agent, or unreserves more than is dynamically reserved',
  },
  GALAXY_E_LIMIT_EXCEEDED: {
    status: 'RESOURCE_EXHAUSTED',
    hint: 'a per-caller or per-server limit was reached (docs/security.md); the message names the limit and how to stay under it',
  },
  GALAXY_E_TOO_LARGE: {
    status: 'INVALID_ARGUMENT',
    hint: 'a request or a record is larger than the limit the message names (a message, a spec, a coordinator key); make it smaller',
  },
  GALAXY_E_LOGS_UNAVAILABLE: {
    status: 'NOT_FOUND',
    hint: "the task's sandbox is not on its agent (any more): a finished task's output is kept as long as its sandbox (an hour by default); galaxy tasks lists the tasks whose output you may read",
  },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A Galaxy error code such as `GALAXY_E_OFFER_UNKNOWN`. */
export type ErrorCode = keyof typeof ErrorCodes;

/** An error that carries a stable {@link ErrorCode}. */
export class GalaxyError extends Error {
  /** The stable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'GalaxyError';
    this.code = code;
  }

  /** The message without the code prefix. */
  get detail(): string {
    return this.message.slice(this.code.length + 2);
  }
}

/** True when `value` is a {@link GalaxyError}, optionally with the given code. */
export function isGalaxyError(value: unknown, code?: ErrorCode): value is GalaxyError {
  return value instanceof GalaxyError && (code === undefined || value.code === code);
}

/** Parses `GALAXY_E_X: message` back into a {@link GalaxyError} (used on the client side of gRPC). */
export function parseGalaxyError(text: string): GalaxyError | undefined {
  const match = /^(?:\d+ [A-Z_]+: )?(GALAXY_E_[A-Z_]+): ([\s\S]*)$/.exec(text);
  if (!match) return undefined;
  const [, code, message] = match;
  if (code === undefined || message === undefined || !(code in ErrorCodes)) return undefined;
  return new GalaxyError(code as ErrorCode, message);
}
