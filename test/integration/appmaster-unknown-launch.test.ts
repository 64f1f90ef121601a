/**
 * The AppMaster against a real master over gRPC, with a hand-driven agent, when an ACCEPT's answer
 * never comes (GALAXY_E_UNAVAILABLE at its deadline; issue 16): the master is asked about the
 * pods' tasks. One the master never got is answered TASK_UNKNOWN and placed again once its offer
 * comes back; one it carried out is adopted, and the agent is never asked to run the pod twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { GalaxyError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { AppMaster } from '../../frameworks/appmaster/appmaster.js';
import { specJson } from '../../frameworks/appmaster/testing/harness.js';
import type { SchedulerDriver } from '../../frameworks/sdk/driver.js';
import { GrpcSchedulerDriver } from '../../frameworks/sdk/scheduler-driver.js';
import type { Scheduler } from '../../frameworks/sdk/scheduler.js';
import { startMaster } from '../../master/master.js';
import { StatusSource, TaskState, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { MasterMessage } from '../../proto/gen/galaxy/v1/agent.js';
import { eventually } from '../helpers/async-queue.js';
import { rawAgent } from '../helpers/raw-clients.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The tasks a master message asks the agent to run. */
function tasksToRun(message: MasterMessage): TaskInfo[] {
  const body = message.message;
  if (body?.$case === 'runTask') return body.runTask.task ? [body.runTask.task] : [];
  if (body?.$case === 'runTasks') return body.runTasks.tasks;
  return [];
}

/**
 * `driver`, whose first LAUNCH fails GALAXY_E_UNAVAILABLE as a call past its deadline does: after
 * the master carried it out (`carriedOut`), or without it ever reaching the master.
 */
function firstLaunchUnanswered(driver: SchedulerDriver, carriedOut: boolean): SchedulerDriver {
  let first = true;
  return new Proxy(driver, {
    get(target, prop, receiver) {
      if (prop === 'launch' && first) {
        return async (...args: Parameters<SchedulerDriver['launch']>) => {
          first = false;
          if (carriedOut) await target.launch(...args);
          throw new GalaxyError('GALAXY_E_UNAVAILABLE', 'the master cannot be reached: Deadline exceeded (test)');
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A master, an agent that reports every task it is given RUNNING, and an AppMaster whose first LAUNCH goes unanswered. */
async function cell(name: string, carriedOut: boolean) {
  const master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    // An offer whose ACCEPT never reached the master comes back soon.
    timings: { allocationIntervalMs: 100, frameworkHeartbeatMs: 200, offerTimeoutMs: 1000 },
  });
  cleanups.push(() => master.stop());
  const agent = rawAgent(master.address, {
    hostname: `${name}-host`,
    total: { cpus: 4000, mem: 8 * 1024 ** 3, disk: 10 * 1024 ** 3, gpus: 0, ports: [{ begin: 23600, end: 23699 }] },
  });
  cleanups.push(() => {
    agent.close();
  });
  const agentId = await agent.registered;
  const ran: string[] = [];
  const coordinator = new MemoryCoordinator();
  cleanups.push(() => coordinator.close());
  const appmaster = new AppMaster({
    coordinator,
    log: createLogger('appmaster', 'silent'),
    worker: () => ({ argv: ['true'], appmasters: ['127.0.0.1:1'] }),
  });
  let wrapped: SchedulerDriver | undefined;
  const wrap = (d: SchedulerDriver) => (wrapped ??= firstLaunchUnanswered(d, carriedOut));
  const scheduler: Scheduler = {
    offers: (d, offers) => {
      appmaster.offers(wrap(d), offers);
    },
    update: (d, status) => {
      appmaster.update(d, status);
    },
    failure: (d, id) => {
      appmaster.failure(d, id);
    },
    subscribed: () => {
      appmaster.subscribed();
    },
    disconnected: () => {
      appmaster.disconnected();
    },
  };
  const driver = new GrpcSchedulerDriver({
    master: master.address,
    framework: { name: `${name}-appmaster`, failoverTimeoutS: 30 },
    scheduler,
    logger: createLogger('driver', 'silent'),
  });
  await driver.start();
  appmaster.attach(wrap(driver));
  cleanups.push(async () => {
    await appmaster.detach();
    await driver.stop();
  });
  // The agent runs what it is given: RUNNING, as a real agent reports it.
  const seen = new Set<number>();
  const timer = setInterval(() => {
    agent.received.items.forEach((message, i) => {
      if (seen.has(i)) return;
      seen.add(i);
      for (const task of tasksToRun(message)) {
        ran.push(task.taskId);
        agent.send({
          message: {
            $case: 'statusUpdate',
            statusUpdate: {
              status: {
                taskId: task.taskId,
                frameworkId: driver.frameworkId,
                agentId,
                state: TaskState.TASK_RUNNING,
                message: '',
                reason: '',
                source: StatusSource.SOURCE_AGENT,
                timestamp: 0,
                uuid: `${task.taskId}-running`,
              },
            },
          },
        });
      }
    });
  }, 20);
  cleanups.push(() => {
    clearInterval(timer);
  });
  return { appmaster, ran };
}

describe('the AppMaster when an ACCEPT goes unanswered (real master)', { timeout: 30_000 }, () => {
  it('places the pod again when the master never got the ACCEPT', async () => {
    const { appmaster, ran } = await cell('amstuck-lost', false);
    await appmaster.submit(specJson('amstuck-lost', 1));
    // Asked about, the master does not know the task; the pod is placed again on the offer that comes back.
    await eventually(() => ran.length === 1, 15_000, 'the pod run once at the agent');
    const [pod] = (await appmaster.show('amstuck-lost')).pods;
    expect(pod?.taskId).toBe(ran[0]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(ran).toHaveLength(1);
  });

  it('adopts the pod, and launches it no second time, when the master carried the ACCEPT out', async () => {
    const { appmaster, ran } = await cell('amstuck-ran', true);
    await appmaster.submit(specJson('amstuck-ran', 1));
    await eventually(() => ran.length === 1, 15_000, 'the pod run at the agent');
    // Offers keep coming (the agent has room): the pod is not launched again.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(ran).toHaveLength(1);
    const [pod] = (await appmaster.show('amstuck-ran')).pods;
    expect(pod?.taskId).toBe(ran[0]);
  });
});
