/**
 * What a framework implements: handlers for the events of the scheduler API. Every handler is
 * optional; handlers run one at a time, in the order the events arrived, so a framework needs no
 * locking of its own. A handler that throws is logged and the next event is delivered.
 */
import type { Offer, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { FrameworkMessage } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { SchedulerDriver } from './driver.js';

/** SUBSCRIBED, as the driver reports it. */
export interface SubscribedInfo {
  /** The framework's id; the same on every re-subscription of this driver. */
  readonly frameworkId: string;
  /** How often the master sends HEARTBEAT; 0 when it sends none. */
  readonly heartbeatIntervalS: number;
  /** The master that answered; it changes when another master took over. */
  readonly masterId: string;
  /** True when this is a re-subscription after a disconnection. */
  readonly resubscribed: boolean;
}

/** An asynchronous error the master reported on the event stream. */
export interface SchedulerError {
  /** A `GALAXY_E_*` code. */
  readonly code: string;
  readonly message: string;
  /** True when re-subscribing cannot help (torn down, or refused): the driver has stopped. */
  readonly fatal: boolean;
}

/** A framework's event handlers. */
export interface Scheduler {
  /**
   * The master accepted the (re-)subscription. Runs before the driver's implicit reconciliation,
   * so the framework can prepare for the answers.
   */
  subscribed?(driver: SchedulerDriver, info: SubscribedInfo): void | Promise<void>;
  /** Resources offered to the framework: accept or decline each one, or it is held until rescinded. */
  offers?(driver: SchedulerDriver, offers: Offer[]): void | Promise<void>;
  /** An offer is no longer valid (its agent left, or the master took it back); forget it. */
  rescind?(driver: SchedulerDriver, offerId: string): void | Promise<void>;
  /**
   * A task's status changed, or a reconciliation answer (empty `uuid`). An update with a uuid is
   * acknowledged after this returns, unless auto-acknowledgement is off or this throws: an
   * update the framework failed to handle comes again.
   */
  update?(driver: SchedulerDriver, status: TaskStatus): void | Promise<void>;
  /** An agent was lost; its tasks' updates (TASK_LOST) follow separately. */
  failure?(driver: SchedulerDriver, agentId: string): void | Promise<void>;
  /**
   * An operator drains an agent (`draining`): move tasks off it, following the framework's own
   * pacing; it is offered no more. `draining` false: the drain ended. Frameworks that subscribe
   * during a drain hear of it right after SUBSCRIBED.
   */
  agentDraining?(driver: SchedulerDriver, agentId: string, draining: boolean): void | Promise<void>;
  /**
   * The master reported an error, on the event stream or by refusing the subscription. A fatal
   * one has stopped the driver by the time this runs.
   */
  error?(driver: SchedulerDriver, error: SchedulerError): void | Promise<void>;
  /** Bytes sent by something running on an agent. */
  message?(driver: SchedulerDriver, message: FrameworkMessage): void | Promise<void>;
  /**
   * The connection to the master broke; the driver is re-subscribing. Offers the framework holds
   * are void; its tasks keep running for the failover timeout.
   */
  disconnected?(driver: SchedulerDriver): void | Promise<void>;
}
