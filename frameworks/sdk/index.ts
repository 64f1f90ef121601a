/**
 * The framework SDK: write a scheduler, hand it to a driver.
 */
export { SchedulerDriver, type DriverOptions } from './scheduler-driver.js';
export type { Scheduler, SubscribedInfo } from './scheduler.js';
