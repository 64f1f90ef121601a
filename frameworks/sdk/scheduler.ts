/**
 * What a framework implements: handlers for the events of the scheduler API. Every handler is
 * optional; handlers run one at a time, in the order the events arrived.
 */
import type { Offer, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { FrameworkMessage } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { SchedulerDriver } from './scheduler-driver.js';

/** SUBSCRIBED, as the driver reports it. */
export interface SubscribedInfo {
  readonly frameworkId: string;
  readonly heartbeatIntervalS: number;
  readonly masterId: string;
  /** True when this is a re-subscription after a disconnection. */
  readonly resubscribed: boolean;
}

/** A framework's event handlers. */
export interface Scheduler {
  subscribed?(driver: SchedulerDriver, info: SubscribedInfo): void | Promise<void>;
  offers?(driver: SchedulerDriver, offers: Offer[]): void | Promise<void>;
  rescind?(driver: SchedulerDriver, offerId: string): void | Promise<void>;
  /** A status update; acknowledged after this returns (unless auto-acknowledge is off). */
  update?(driver: SchedulerDriver, status: TaskStatus): void | Promise<void>;
  /** An agent was lost. */
  failure?(driver: SchedulerDriver, agentId: string): void | Promise<void>;
  /** The master reported an error; the driver stops when it is fatal. */
  error?(driver: SchedulerDriver, error: { code: string; message: string }): void | Promise<void>;
  message?(driver: SchedulerDriver, message: FrameworkMessage): void | Promise<void>;
  /** The connection to the master broke; the driver is reconnecting. */
  disconnected?(driver: SchedulerDriver): void | Promise<void>;
}
