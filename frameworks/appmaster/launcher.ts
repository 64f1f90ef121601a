/**
 * Offers and launching: pending pods are placed into offers (`placement/`) and launched as
 * AppWorker containers; and what the master reports of launched containers — a task gone, an
 * agent lost — puts their pods back to pending (counting the host's failure when it was one) or
 * drops the pods that were retiring. A launch the master refused puts its pods back at once; one
 * it did not answer (its outcome unknown) keeps them launching until the master, asked about
 * their tasks, says whether it has them (`unknown-tasks.ts`).
 */
import { PREEMPTED_REASON } from '../../core/bands.js';
import { newToken, tokenHash } from '../../core/auth/tokens.js';
import { GalaxyError } from '../../core/errors.js';
import { isGone, stateName } from '../../core/task-state.js';
import { TaskState, type Offer, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { offerFits } from '../sdk/owner-roles.js';
import type { OfferRound } from '../sdk/offer-gate.js';
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import { ownerOf } from './admission.js';
import type { AppMasterContext } from './context.js';
import type { PodEnd } from './hooks.js';
import { placePods, type PodDemand } from './placement/place.js';
import { newTaskId, podTask } from './task.js';
import { orphanVolumes } from './orphan-volumes.js';
import { keptDisks } from './placement/disks.js';
import { volumeKey } from './placement/resources.js';
import { disksOf } from '../../core/disks.js';

/** How long a destroy sent for an orphaned volume is not sent again (its agent's answer is a new report). */
const ORPHAN_RETRY_MS = 60_000;

/** Launches pending pods and follows their containers. */
export class PodLauncher {
  /** `agentId\nkey` of orphaned volumes a destroy was sent for → when. */
  private readonly orphansDestroyed = new Map<string, number>();

  constructor(private readonly ctx: AppMasterContext) {}

  /** Places pending pods into `offers` and launches them; declines what is left. */
  offers(driver: SchedulerDriver, offers: Offer[]): void {
    const { book, gate } = this.ctx;
    const round = gate.round();
    this.ctx.lastOffers.record(offers, this.ctx.now());
    this.destroyOrphans(driver, offers);
    const running = book.running();
    const demands: PodDemand[] = running.flatMap((job) =>
      job.pendingPods().map((pod) => ({
        job: job.record.name,
        podId: pod.record.podId,
        spec: job.specOf(pod.record.revision),
        ...(pod.record.kept
          ? {
              kept: {
                ...pod.record.kept,
                keys: Object.keys(pod.record.kept.disks).map((v) => volumeKey(pod.record.podId, v, job.record.uid)),
              },
            }
          : {}),
      })),
    );
    if (demands.length === 0) {
      // Not awaited: the driver runs one handler at a time, and on a busy master the DECLINE's
      // answer came 35–50 s later, while every later event (offers, status updates) waited behind
      // it; the next offers were stale (timed out) when handled (issue 16: the full cell's last
      // 2,000 pods were placed, refused GALAXY_E_OFFER_UNKNOWN and placed again for good).
      // An offer rescinded meanwhile is no longer ours to decline: nothing to do about it.
      void driver
        .decline(
          offers.map((o) => o.id),
          { refuseSeconds: 30 },
        )
        .catch(() => undefined)
        // A job submitted meanwhile was REVIVEd before this DECLINE: REVIVE again rather than SUPPRESS.
        .then(() => (gate.declined(round) ? undefined : gate.suppress()));
      return;
    }
    // Each job's pods per agent, counted once per round (placement asks for every offer it ranks).
    const perAgent = new Map<string, Map<string, number>>();
    const podsOn = (name: string, agentId: string): number => {
      let counts = perAgent.get(name);
      if (!counts) {
        counts = new Map();
        for (const pod of book.get(name)?.pods() ?? [])
          if (pod.record.taskId !== '' && !pod.runtime.removing)
            counts.set(pod.record.agentId, (counts.get(pod.record.agentId) ?? 0) + 1);
        perAgent.set(name, counts);
      }
      return counts.get(agentId) ?? 0;
    };
    const placement = placePods(demands, offers, {
      podsOn,
      blacklisted: (name, hostname) => book.get(name)?.blacklisted(hostname) ?? false,
      // A job's pods go only into offers of its owner's role (its quota and ledger bind them).
      offerFits: (name, offer) => {
        const job = book.get(name);
        return job !== undefined && offerFits(offer, ownerOf(job.record));
      },
    });
    for (const job of running) job.pending = placement.pending.get(job.record.name) ?? [];
    const byOffer = new Map<string, TaskInfo[]>();
    for (const assignment of placement.assignments) {
      const job = book.get(assignment.job);
      if (!job) continue;
      const pod = job.pod(assignment.podId);
      const taskId = newTaskId(pod.record.podId);
      const podToken = newToken();
      job.launchPod(
        pod,
        {
          taskId,
          tokenSha256: tokenHash(podToken),
          agentId: assignment.agentId,
          hostname: assignment.hostname,
          ports: assignment.ports,
        },
        this.ctx.now(),
      );
      book.indexTask(taskId, job, pod.record.podId);
      const kept = keptDisks(job.specOf(pod.record.revision).volumes, disksOf(assignment.resources));
      // Persistent volumes stay where they were first made: the pod comes back to them (a volume
      // destroyed by hand is made anew, and kept from now on beside the others).
      if (kept) pod.record.kept = { agentId: assignment.agentId, disks: { ...kept, ...pod.record.kept?.disks } };
      delete pod.record.volumesDestroying;
      const task = podTask(
        job.record.name,
        pod.record.podId,
        taskId,
        job.specOf(pod.record.revision),
        assignment,
        { ...this.ctx.options.worker(), podToken },
        ownerOf(job.record),
        job.record.uid,
      );
      this.ctx.hooks.podLaunching.call({ job, pod, task });
      const inOffer = byOffer.get(assignment.offerId);
      if (inOffer) inOffer.push(task);
      else byOffer.set(assignment.offerId, [task]);
      book.touch(job);
    }
    book.flush();
    // The ACCEPTs and the DECLINE are not awaited here: the driver runs one handler at a time, and
    // the next offers and the status updates waited behind the master's answers (issue 16: the
    // AppMaster stalled at about 6,100 of 10,000 pods under load). The placement is already in
    // the book (a later round plans around it); a refused launch puts its pods back when it comes.
    void this.launch(driver, byOffer, placement.unused, round);
  }

  /** One ACCEPT per offer, all at once, and one DECLINE of the offers not used. */
  private async launch(
    driver: SchedulerDriver,
    byOffer: ReadonlyMap<string, TaskInfo[]>,
    unused: readonly string[],
    round: OfferRound,
  ): Promise<void> {
    const { gate, log } = this.ctx;
    // All at once: a round that fills thousands of agents does not wait a round trip per agent.
    const launched = Promise.all(
      [...byOffer].map(async ([offerId, tasks]) => {
        try {
          await driver.launch([offerId], tasks, { refuseSeconds: 0 });
          log.info({ tasks: tasks.map((t) => t.taskId) }, 'pods launched');
        } catch (error) {
          if (error instanceof GalaxyError && error.code === 'GALAXY_E_UNAVAILABLE') {
            // No answer: the master may have launched them all the same. Put back now, a pod it
            // did launch would be launched a second time; so its pod waits for the master's word.
            log.warn({ err: String(error) }, 'launch outcome unknown; asking the master about its pods');
            for (const task of tasks) this.ctx.unknownTasks.add(task.taskId, task.agentId);
            this.askUnknown();
            return;
          }
          log.warn({ err: String(error) }, 'launch refused; the pods wait for another offer');
          for (const task of tasks) this.unlaunch(task.taskId);
          this.ctx.book.flush();
          gate.want();
        }
      }),
    );
    if (unused.length > 0) {
      await driver.decline([...unused], { refuseSeconds: 2 }).catch(() => undefined);
      gate.declined(round);
    }
    await launched;
  }

  /** Destroys the held volumes of `offers` that no pod keeps (`orphan-volumes.ts`), once a minute at most each. */
  private destroyOrphans(driver: SchedulerDriver, offers: readonly Offer[]): void {
    const now = this.ctx.now();
    for (const [key, at] of this.orphansDestroyed) if (now - at >= ORPHAN_RETRY_MS) this.orphansDestroyed.delete(key);
    for (const orphan of orphanVolumes(offers, this.ctx.book)) {
      const key = `${orphan.agentId}\n${orphan.volumeId}`;
      if (this.orphansDestroyed.has(key)) continue;
      this.orphansDestroyed.set(key, now);
      this.ctx.log.warn(orphan, 'a persistent volume no pod keeps is held for the AppMaster; destroying it');
      driver.destroyVolume(orphan.agentId, orphan.volumeId).catch((error: unknown) => {
        this.ctx.log.warn(
          { ...orphan, err: String(error) },
          'the orphaned volume was not destroyed; trying again later',
        );
      });
    }
  }

  /**
   * Asks the master about the tasks whose existence is unknown and due (`unknown-tasks.ts`);
   * called after a launch went unanswered and on every tick. Tasks whose pod moved on are dropped.
   */
  askUnknown(): void {
    const { book, unknownTasks, log } = this.ctx;
    const driver = this.ctx.driver();
    if (!driver || unknownTasks.size === 0) return;
    const due = unknownTasks.due(this.ctx.now()).filter((task) => {
      const current = book.podOfTask(task.taskId) !== undefined;
      if (!current) unknownTasks.heard(task.taskId);
      return current;
    });
    if (due.length === 0) return;
    const asked = () => {
      unknownTasks.asked(due, this.ctx.now());
    };
    driver.reconcile(due).then(asked, (error: unknown) => {
      log.warn({ tasks: due.length, err: String(error) }, 'could not ask the master about launches; asking again');
      asked();
    });
  }

  /** A new subscription: the master is asked again about every task whose existence is unknown. */
  subscribed(): void {
    this.ctx.unknownTasks.askAllAgain();
  }

  /** A task's status: a container that is gone puts its pod back to pending (or drops a retiring one). */
  taskUpdate(status: TaskStatus): void {
    const { book, log } = this.ctx;
    this.ctx.unknownTasks.heard(status.taskId);
    const found = book.podOfTask(status.taskId);
    if (!found) {
      if (isGone(status.state) || status.state === TaskState.TASK_UNKNOWN) book.forgetTask(status.taskId);
      // A task no job knows (a copy from before a failover, a lost launch) is killed.
      else if (!book.knowsTask(status.taskId))
        void this.ctx
          .driver()
          ?.kill(status.taskId, status.agentId)
          .catch(() => undefined);
      return;
    }
    // The master has no such task: its launch never happened (the answer to an unanswered ACCEPT).
    const neverLaunched = status.state === TaskState.TASK_UNKNOWN;
    if (!isGone(status.state) && !neverLaunched) return;
    const { job, pod } = found;
    const podId = pod.record.podId;
    if (!pod.runtime.removing) {
      if (neverLaunched) {
        // Not the host's fault: placed again.
        log.warn({ job: job.record.name, pod: podId }, 'the master never launched the pod; it will be placed again');
      } else if (status.reason === PREEMPTED_REASON) {
        // Killed for a higher band: not the host's fault, so no blacklisting; placed again.
        log.warn({ job: job.record.name, pod: podId, message: status.message }, 'pod preempted');
      } else if (!pod.runtime.killing) {
        job.countHostFailure(pod.record.hostname, this.ctx.now());
        log.warn(
          { job: job.record.name, pod: podId, state: stateName(status.state), reason: status.reason },
          'pod container ended; it will be placed again',
        );
      }
    }
    this.ended({ job, pod, cause: 'ended', status });
    job.pruneSpecs();
    book.flush();
  }

  /** An agent is gone for good: its pods are placed again; stale copies are killed if they show up. */
  agentLost(agentId: string): void {
    for (const job of this.ctx.book.all()) {
      for (const pod of job.pods()) {
        if (pod.record.agentId !== agentId || pod.record.taskId === '') continue;
        this.ctx.log.warn(
          { job: job.record.name, pod: pod.record.podId, agent: agentId },
          'agent lost; placing the pod again',
        );
        this.ended({ job, pod, cause: 'agent-lost' });
      }
    }
    this.ctx.gate.want();
    this.ctx.book.flush();
  }

  /** The pod's container is gone: the `podEnded` taps run, then the pod waits for a new one (or goes, when retiring). */
  private ended(end: PodEnd): void {
    const { job, pod } = end;
    this.ctx.book.forgetTask(pod.record.taskId);
    this.ctx.hooks.podEnded.call(end);
    if (pod.runtime.removing) {
      job.dropPod(pod.record.podId);
    } else {
      job.resetPod(pod);
      if (end.cause === 'ended') this.ctx.gate.want();
    }
    this.ctx.book.touch(job);
  }

  /** A launch the master refused: the pod waits for another offer (stored at the next flush). */
  private unlaunch(taskId: string): void {
    const found = this.ctx.book.podOfTask(taskId);
    this.ctx.book.forgetTask(taskId);
    if (!found) return;
    found.job.resetPod(found.pod);
    this.ctx.book.touch(found.job);
  }
}
