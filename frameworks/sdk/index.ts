/**
 * The framework SDK: write a {@link Scheduler}, hand it to a {@link SchedulerDriver}.
 */
export { SchedulerDriver, type DriverOptions, type FrameworkOptions } from './scheduler-driver.js';
export type { Scheduler, SchedulerError, SubscribedInfo } from './scheduler.js';
