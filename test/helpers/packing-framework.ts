/**
 * A small framework for preemption tests, on the real SDK: it wants `count` tasks of one size and
 * band, packs them into whatever offers come, relaunches tasks that end, and — with `preempt` —
 * asks the master to preempt for a task pending longer than `preemptAfterMs`, with at most one
 * request outstanding per task.
 */
import { containsResources, addResources, emptyResources } from '../../core/resources.js';
import { isTerminal } from '../../core/task-state.js';
import { Band, type Offer, type Resources, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { PreemptionPlan } from '../../proto/gen/galaxy/v1/scheduler.js';
import { GrpcSchedulerDriver } from '../../frameworks/sdk/scheduler-driver.js';
import type { SchedulerDriver } from '../../frameworks/sdk/driver.js';

/** How a packing framework behaves. */
export interface PackingOptions {
  readonly master: string;
  readonly name: string;
  readonly band: Band;
  readonly resources: Resources;
  readonly count: number;
  readonly revocable?: boolean;
  /** Ask for preemptions for pending tasks. */
  readonly preempt?: boolean;
  readonly preemptAfterMs?: number;
  /** Relaunch tasks that end (default true). */
  readonly relaunch?: boolean;
}

/** The framework and what happened to it. */
export class PackingFramework {
  readonly driver: GrpcSchedulerDriver;
  /** Slot → task id running it, or '' while pending. */
  private readonly slots: string[];
  private readonly pendingSince: number[];
  /** Slot → when its outstanding request may be renewed (ms). */
  private readonly asked = new Map<number, number>();
  private generation = 0;
  readonly updates: TaskStatus[] = [];
  readonly plans: PreemptionPlan[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: PackingOptions) {
    this.slots = new Array<string>(options.count).fill('');
    this.pendingSince = new Array<number>(options.count).fill(Date.now());
    this.driver = new GrpcSchedulerDriver({
      master: options.master,
      framework: { name: options.name, failoverTimeoutS: 30 },
      reconnect: { initialMs: 50, maxMs: 200 },
      // Acknowledged without waiting, so that a burst of updates does not delay offers.
      autoAcknowledge: false,
      scheduler: {
        offers: (driver, offers) => {
          this.offers(driver, offers);
        },
        update: (driver, status) => {
          this.update(status);
          if (status.uuid !== '') void driver.acknowledge(status).catch(() => undefined);
        },
      },
    });
  }

  /** Subscribes and starts asking for preemptions. */
  async start(): Promise<string> {
    const id = await this.driver.start();
    if (this.options.preempt) {
      this.timer = setInterval(() => {
        this.askForRoom();
      }, 100);
      this.timer.unref();
    }
    return id;
  }

  /** Stops the timer and the driver. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.driver.stop();
  }

  /** Tasks running or launched now. */
  get placed(): number {
    return this.slots.filter((t) => t !== '').length;
  }

  /** Updates with reason `preempted`. */
  get preempted(): TaskStatus[] {
    return this.updates.filter((u) => u.reason === 'preempted');
  }

  /** Packs pending slots into the offers; LAUNCH and DECLINE are sent without waiting. */
  private offers(driver: SchedulerDriver, offers: Offer[]): void {
    const unused: string[] = [];

    for (const offer of offers) {
      const tasks: TaskInfo[] = [];
      let used = emptyResources();
      for (let slot = 0; slot < this.slots.length; slot++) {
        if (this.slots[slot] !== '') continue;
        const next = addResources(used, this.options.resources);
        if (!offer.resources || !containsResources(offer.resources, next)) break;
        used = next;
        this.generation += 1;
        const taskId = `${this.options.name}-${slot}.${this.generation}`;
        this.slots[slot] = taskId;
        tasks.push(this.taskInfo(taskId));
      }
      if (tasks.length === 0) {
        unused.push(offer.id);
        continue;
      }
      void driver.launch([offer.id], tasks, { refuseSeconds: 0.2 }).catch(() => {
        for (const task of tasks) this.slots[this.slots.indexOf(task.taskId)] = '';
      });
    }
    // One DECLINE for every unused offer, as a real framework does.
    if (unused.length > 0) void driver.decline(unused, { refuseSeconds: 1 }).catch(() => undefined);
  }

  private update(status: TaskStatus): void {
    this.updates.push(status);
    if (!isTerminal(status.state)) return;
    const slot = this.slots.indexOf(status.taskId);
    if (slot < 0 || this.options.relaunch === false) return;
    this.slots[slot] = '';
    this.pendingSince[slot] = Date.now();
    this.asked.delete(slot);
  }

  private askForRoom(): void {
    const now = Date.now();
    for (let slot = 0; slot < this.slots.length; slot++) {
      if (this.slots[slot] !== '' || now - (this.pendingSince[slot] ?? now) < (this.options.preemptAfterMs ?? 300))
        continue;
      if ((this.asked.get(slot) ?? 0) > now) continue;
      this.asked.set(slot, now + 60_000);
      void this.driver
        .preempt({
          requestId: `${this.options.name}/${slot}`,
          resources: this.options.resources,
          band: this.options.band,
          reason: `task slot ${slot} pending`,
        })
        .then(
          (plan) => {
            this.plans.push(plan);
            // Granted: wait for the set-aside offer; refused: ask again a little later.
            this.asked.set(slot, Date.now() + (plan.granted ? 3000 : 300));
          },
          () => this.asked.set(slot, Date.now() + 300),
        );
    }
  }

  private taskInfo(taskId: string): TaskInfo {
    return {
      taskId,
      name: taskId,
      agentId: '',
      resources: this.options.resources,
      command: { shell: 'sleep 1000', argv: [], env: {}, user: '' },
      labels: [],
      killGraceS: 0,
      volumes: [],
      band: this.options.band,
      revocable: this.options.revocable ?? false,
    };
  }
}
