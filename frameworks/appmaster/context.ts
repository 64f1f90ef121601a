/**
 * What the AppMaster's modules share: its options, the jobs, and the services every module
 * reaches for. The composition root (`appmaster.ts`) builds it once; each module takes it in its
 * constructor. Plugins see only its {@link AppMasterHost} part.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import type { OfferGate } from '../sdk/offer-gate.js';
import type { OwnerRoles } from '../sdk/owner-roles.js';
import type { JobTenancy } from '../sdk/tenancy.js';
import type { AppMasterHost, AppMasterPlugin } from './hooks.js';
import type { JobBook } from './job-book.js';
import type { LastOffers } from './plan.js';
import type { PodControl } from './pod-control.js';
import type { JobStore } from './store.js';
import type { WorkerLaunch } from './task.js';
import type { UnknownTasks } from './unknown-tasks.js';

/** How an AppMaster runs. */
export interface AppMasterOptions {
  readonly coordinator: Coordinator;
  readonly log: Logger;
  /** How pods start their AppWorker and where they find the AppMasters (known once the pull API listens). */
  readonly worker: () => WorkerLaunch;
  /** How often the AppWorkers pull when nothing changes. Default 3000 ms. */
  readonly pullIntervalMs?: number;
  /** The clock (tests). */
  readonly now?: () => number;
  /** Authorities and quotas; default: those stored in `coordinator`. */
  readonly tenancy?: JobTenancy;
  /** Plugins applied after the built-in ones (naming, drains, preemption), in order. */
  readonly plugins?: readonly AppMasterPlugin[];
}

/** The AppMaster's shared parts. */
export interface AppMasterContext extends AppMasterHost {
  readonly options: AppMasterOptions;
  readonly book: JobBook;
  readonly store: JobStore;
  readonly pods: PodControl;
  /** SUPPRESS while no pod waits, REVIVE when one does. */
  readonly gate: OfferGate;
  /** The roles of the jobs' owners, held with the master. */
  readonly roles: OwnerRoles;
  readonly tenancy: JobTenancy;
  /** The offers last seen per agent, for `galaxy job plan`. */
  readonly lastOffers: LastOffers;
  /** Pods' tasks the master may or may not have (an unanswered launch, a KILL it found unknown): asked about until it says. */
  readonly unknownTasks: UnknownTasks;
}
