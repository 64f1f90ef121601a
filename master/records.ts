/**
 * What the master remembers about agents, frameworks and tasks.
 */
import type { AgentInfo, FrameworkInfo, KeptVolume, Resources, Task } from '../proto/gen/galaxy/v1/common.js';
import type { MasterMessage } from '../proto/gen/galaxy/v1/agent.js';
import type { Event } from '../proto/gen/galaxy/v1/scheduler.js';

/** How a {@link Connection} bounds what waits for a peer that does not read. */
export interface SendBound<T> {
  /** The encoded size of a message, in bytes. */
  measure(message: T): number;
  /** Bytes written and not yet taken by the peer beyond which the connection gives up. */
  readonly maxQueuedBytes: number;
  /** Called once, when the bound is passed; nothing more is sent by then. */
  overflow(queuedBytes: number): void;
}

/**
 * One gRPC stream to a peer: messages go out until either side closes it. With a bound, a peer
 * that stops reading cannot make the master buffer without end: once more than
 * `maxQueuedBytes` wait for it, nothing more is written and `overflow` drops it.
 */
export class Connection<T> {
  private open = true;
  private queuedBytes = 0;

  constructor(
    private readonly stream: { write(message: T, done?: () => void): unknown; end(): unknown },
    private readonly bound?: SendBound<T>,
  ) {}

  /** Bytes written and not yet taken by the peer (counted only with a bound). */
  get queued(): number {
    return this.queuedBytes;
  }

  /** Sends a message unless the stream is closed. */
  send(message: T): void {
    if (!this.open) return;
    if (!this.bound) {
      this.stream.write(message);
      return;
    }
    const size = this.bound.measure(message);
    this.queuedBytes += size;
    this.stream.write(message, () => {
      this.queuedBytes -= size;
    });
    if (this.queuedBytes > this.bound.maxQueuedBytes) {
      this.open = false;
      this.bound.overflow(this.queuedBytes);
    }
  }

  /** Closes the stream (once). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.stream.end();
  }

  /** False once either side closed it. */
  get isOpen(): boolean {
    return this.open;
  }

  /** The peer closed it: nothing more may be written. */
  markClosed(): void {
    this.open = false;
  }
}

/** The stream to one connected agent. */
export type AgentConnection = Connection<MasterMessage>;

/** The stream to one subscribed framework. */
export type FrameworkConnection = Connection<Event>;

/** An agent the master admitted. */
export interface AgentRecord {
  readonly info: AgentInfo & { total: Resources };
  connection?: AgentConnection;
  /** Connected and heartbeating: its resources are offered. */
  active: boolean;
  readonly registeredAt: number;
  /** Keys of the tasks on it (see {@link taskKey}). */
  readonly tasks: Set<string>;
  lastPong: number;
  /** The sequence number of the last ping sent. */
  pingSeq?: number;
  removalTimer?: NodeJS.Timeout;
  /** Told to shut down (`galaxy agent shutdown`): once it disconnects it is removed at once. */
  shuttingDown?: boolean;
  /**
   * The persistent volumes it keeps with no container, as it last reported them (checked), plus
   * those of its tasks that ended since: their bytes are held for their frameworks.
   */
  keptVolumes?: KeptVolume[];
}

/** A framework the master knows. */
export interface FrameworkRecord {
  /** As subscribed; `roles` holds its effective roles, `role` the first of them. */
  readonly info: FrameworkInfo;
  connection?: FrameworkConnection;
  /**
   * The user that first subscribed it (docs/security.md): only it or an admin may act as the
   * framework, and it launches for this user (or, acting for users, for its roles' owners). ''
   * while not known: a framework a re-registering agent named that the registry has no record of.
   */
  owner: string;
  active: boolean;
  suppressed: boolean;
  readonly tasks: Set<string>;
  heartbeatTimer?: NodeJS.Timeout;
  failoverTimer?: NodeJS.Timeout;
}

/** A task the master routes. */
export interface TaskRecord {
  task: Task;
  /** A KILL arrived while the agent was away; sent when it re-registers. */
  killRequested: boolean;
  /** Set when a preemption kills it: its end is reported with reason `preempted` and this message. */
  preemptedBy?: string;
  /** When it ended or became unreachable (ms): forgotten after the retention period even if never acknowledged. */
  goneAt?: number;
  /** Its persistent disk volumes (kept by its agent when it ends: docs/disks.md, "Held volumes"). */
  persistentVolumes?: readonly KeptVolume[];
  /** Volume ids of the held volumes it took from its offer: their bytes are its own. */
  claimedHolds?: readonly string[];
}

/** The key of a task: task ids are unique per framework. */
export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}
