/**
 * One task's state machine against real processes: what each way of ending is reported as, where
 * its output goes, what its environment holds, and how kills honour the grace.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { TaskState, type CommandInfo, type TaskInfo, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { eventually } from '../test/helpers/async-queue.js';
import { killWithEnv, processesWithEnv } from '../test/helpers/processes.js';
import { createAgentHooks, type AgentHooks } from './hooks.js';
import { ProcessLauncher } from './process-launcher.js';
import { TaskRunner } from './task-runner.js';

const FRAMEWORK = { id: 'fw-1', name: 'test', role: '*', user: '', failoverTimeoutS: 0, hostname: '', roles: [] };

let workDir = '';
let hooks: AgentHooks;
const runners: TaskRunner[] = [];

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-runner-'));
  hooks = createAgentHooks();
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.kill()));
  const left = processesWithEnv(`GALAXY_SANDBOX=${workDir}`);
  killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  await rm(workDir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

function taskInfo(taskId: string, command: Partial<CommandInfo>, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    taskId,
    name: taskId,
    agentId: 'agent-1',
    resources: { cpus: 100, mem: 0, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31002 }] },
    command: { shell: '', argv: [], env: {}, user: '', ...command },
    labels: [],
    killGraceS: 1,
    volumes: [],
    ...extra,
  };
}

/** Starts a runner and returns the statuses it emits, in order. */
function run(info: TaskInfo): { runner: TaskRunner; statuses: TaskStatus[] } {
  const statuses: TaskStatus[] = [];
  const runner = new TaskRunner(FRAMEWORK, info, {
    agentId: () => 'agent-1',
    workDir,
    launcher: new ProcessLauncher(),
    hooks,
    log: createLogger('test', 'silent'),
    emit: (status) => statuses.push(status),
  });
  runners.push(runner);
  void runner.start();
  return { runner, statuses };
}

const states = (statuses: TaskStatus[]): TaskState[] => statuses.map((s) => s.state);
const terminal = (statuses: TaskStatus[]): Promise<TaskStatus> =>
  eventually(
    () =>
      statuses.find(
        (s) =>
          s.state !== TaskState.TASK_STARTING &&
          s.state !== TaskState.TASK_RUNNING &&
          s.state !== TaskState.TASK_KILLING,
      ),
    5000,
    'a terminal status',
  );

describe('TaskRunner', () => {
  it('reports STARTING, RUNNING, FINISHED for a task that exits 0, with its output in the sandbox', async () => {
    const { runner, statuses } = run(taskInfo('ok', { shell: 'echo out; echo err >&2' }));
    const end = await terminal(statuses);
    expect(states(statuses)).toEqual([TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_FINISHED]);
    expect(end.exitCode).toBe(0);
    expect(runner.sandbox).toMatch(new RegExp(`^${workDir}/sandboxes/fw-1/ok-[a-z0-9]+$`));
    expect(await readFile(join(runner.sandbox, 'stdout'), 'utf8')).toBe('out\n');
    expect(await readFile(join(runner.sandbox, 'stderr'), 'utf8')).toBe('err\n');
  });

  it('reports FAILED with the exit code for a non-zero exit', async () => {
    const { statuses } = run(taskInfo('three', { argv: ['/bin/sh', '-c', 'exit 3'] }));
    const end = await terminal(statuses);
    expect(end).toMatchObject({ state: TaskState.TASK_FAILED, exitCode: 3, reason: 'non-zero-exit' });
    expect(end.message).toContain('exit code 3');
  });

  it('gives the task its ids, sandbox, ports and own env', async () => {
    const { runner, statuses } = run(
      taskInfo('env', {
        shell:
          'echo "$GALAXY_TASK_ID $GALAXY_FRAMEWORK_ID $GALAXY_AGENT_ID $GALAXY_PORTS $PORT0 $PORT2 $MINE $GALAXY_SANDBOX"',
        env: { MINE: 'yes' },
      }),
    );
    await terminal(statuses);
    expect(await readFile(join(runner.sandbox, 'stdout'), 'utf8')).toBe(
      `env fw-1 agent-1 31000,31001,31002 31000 31002 yes ${runner.sandbox}\n`,
    );
  });

  it('reports KILLED well within the grace when the task stops on SIGTERM', async () => {
    const { runner, statuses } = run(taskInfo('sleeper', { shell: 'exec sleep 30' }, { killGraceS: 5 }));
    await eventually(() => runner.state === TaskState.TASK_RUNNING, 5000, 'RUNNING');
    const t0 = Date.now();
    await runner.kill();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(states(statuses).slice(-2)).toEqual([TaskState.TASK_KILLING, TaskState.TASK_KILLED]);
    expect(statuses.at(-1)?.message).toContain('SIGTERM');
  });

  it('SIGKILLs a task that ignores SIGTERM once its grace has passed', async () => {
    const { runner, statuses } = run(
      taskInfo('stubborn', { shell: "trap '' TERM; echo ready; while true; do sleep 0.05; done" }, { killGraceS: 0.5 }),
    );
    await eventually(
      async () => (await readFile(join(runner.sandbox, 'stdout'), 'utf8').catch(() => '')) === 'ready\n',
      5000,
      'the trap',
    );
    const t0 = Date.now();
    await runner.kill();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(statuses.at(-1)).toMatchObject({ state: TaskState.TASK_KILLED });
    expect(statuses.at(-1)?.message).toContain('SIGKILL');
  });

  it('kills a task whose kill arrives while it is still being prepared', async () => {
    let release = (): void => undefined;
    let entered = false;
    hooks.beforeLaunch.tapPromise(
      'slow',
      () =>
        new Promise((resolve) => {
          entered = true;
          release = resolve;
        }),
    );
    const { runner, statuses } = run(taskInfo('early', { shell: 'exec sleep 30' }));
    await eventually(() => entered, 5000, 'the hook to run');
    const killed = runner.kill();
    release();
    await killed;
    expect(states(statuses)).toEqual([TaskState.TASK_STARTING, TaskState.TASK_KILLED]);
  });

  it('reports FAILED with the cause when the program or the user does not exist', async () => {
    const binary = run(taskInfo('nobin', { argv: ['/no/such/binary'] }));
    expect(await terminal(binary.statuses)).toMatchObject({ state: TaskState.TASK_FAILED, reason: 'launch-failed' });
    expect(binary.statuses.at(-1)?.message).toMatch(/GALAXY_E_LAUNCH_FAILED: cannot start \/no\/such\/binary/);
    const user = run(taskInfo('nouser', { shell: 'true', user: 'no-such-user-galaxy' }));
    expect(await terminal(user.statuses)).toMatchObject({ state: TaskState.TASK_FAILED, reason: 'launch-failed' });
    expect(user.statuses.at(-1)?.message).toContain('no-such-user-galaxy');
  });

  it('reports FAILED with the plugin’s message when a beforeLaunch hook refuses', async () => {
    hooks.beforeLaunch.tapPromise('refuse', () => Promise.reject(new Error('no room in the memory cgroup')));
    const { statuses } = run(taskInfo('refused', { shell: 'true' }));
    expect(await terminal(statuses)).toMatchObject({
      state: TaskState.TASK_FAILED,
      message: 'no room in the memory cgroup',
    });
  });

  it('reports ERROR for an id that would escape the sandbox root', async () => {
    const { statuses } = run(taskInfo('../../etc', { shell: 'true' }));
    expect(await terminal(statuses)).toMatchObject({ state: TaskState.TASK_ERROR });
    expect(statuses.at(-1)?.message).toContain('GALAXY_E_TASK_INVALID');
  });
});
