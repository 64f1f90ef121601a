/**
 * The framework SDK: write a {@link Scheduler}, hand it to a {@link GrpcSchedulerDriver} (which implements {@link SchedulerDriver}).
 */
export { GrpcSchedulerDriver, type DriverOptions } from './scheduler-driver.js';
export type { FrameworkOptions, FrameworkUpdate, PreemptRequest, SchedulerDriver } from './driver.js';
export type { Scheduler, SchedulerError, SubscribedInfo } from './scheduler.js';
