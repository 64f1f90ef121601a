/**
 * The agent's checkpoints: mode 0600 in 0700 directories (they hold task environments, pod tokens
 * among them), and a torn or empty file (task checkpoint or agent id) is reported with its path
 * and skipped, so a restarting agent starts with what it can read.
 */
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameworkInfo, TaskInfo, TaskState } from '../proto/gen/galaxy/v1/common.js';
import { Checkpointer } from './checkpoint.js';

let workDir: string;
beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-checkpoint-'));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('checkpoints', () => {
  it('are mode 0600 in 0700 directories: they hold task environments (pod tokens)', async () => {
    // An older agent left meta/ readable by everyone: it is closed on the next write.
    await mkdir(join(workDir, 'meta'), { mode: 0o755 });
    await chmod(join(workDir, 'meta'), 0o755);
    const checkpoints = new Checkpointer(workDir);
    await checkpoints.saveAgentId('agent-1');
    await checkpoints.saveTask({
      framework: FrameworkInfo.fromPartial({ id: 'fw-1', name: 'f' }),
      info: TaskInfo.fromPartial({ taskId: 't1', command: { shell: 'true', env: { GALAXY_POD_TOKEN: 'secret' } } }),
      containerId: 'c1',
      sandbox: join(workDir, 'sandboxes', 'fw-1', 't1'),
      pid: 42,
      state: TaskState.TASK_RUNNING,
    });
    expect(await mode(join(workDir, 'meta'))).toBe(0o700);
    expect(await mode(join(workDir, 'meta', 'tasks'))).toBe(0o700);
    expect(await mode(join(workDir, 'meta', 'tasks', 'fw-1'))).toBe(0o700);
    expect(await mode(join(workDir, 'meta', 'tasks', 'fw-1', 't1.json'))).toBe(0o600);
    expect(await mode(join(workDir, 'meta', 'agent-id'))).toBe(0o600);
    expect((await checkpoints.tasks()).map((t) => t.info.taskId)).toEqual(['t1']);
  });
});

describe('Checkpointer', () => {
  it('reads back what it saved', async () => {
    const checkpoints = new Checkpointer(workDir);
    await checkpoints.saveAgentId('agent-1');
    const task = {
      framework: FrameworkInfo.fromPartial({ id: 'fw-1', name: 'web' }),
      info: TaskInfo.fromPartial({ taskId: 'task-1', name: 't' }),
      containerId: 'c-1',
      sandbox: '/tmp/s',
      pid: 42,
      state: TaskState.TASK_RUNNING,
    };
    await checkpoints.saveTask(task);
    expect(await checkpoints.agentId()).toBe('agent-1');
    expect(await checkpoints.tasks()).toEqual([task]);
  });

  it('reports torn and empty files with their paths and skips them', async () => {
    const reports: [string, string][] = [];
    const checkpoints = new Checkpointer(workDir, (path, reason) => reports.push([path, reason]));
    await checkpoints.saveTask({
      framework: FrameworkInfo.fromPartial({ id: 'fw-1', name: 'web' }),
      info: TaskInfo.fromPartial({ taskId: 'good', name: 't' }),
      containerId: 'c-1',
      sandbox: '/tmp/s',
      pid: 42,
      state: TaskState.TASK_RUNNING,
    });
    const tasks = join(workDir, 'meta', 'tasks', 'fw-1');
    await writeFile(join(tasks, 'empty.json'), '');
    await writeFile(join(tasks, 'torn.json'), '{"framework": {"id": "fw-1"}, "info": {"taskId": "to');
    await writeFile(join(tasks, 'hollow.json'), '{}');
    await mkdir(join(workDir, 'meta'), { recursive: true });
    await writeFile(join(workDir, 'meta', 'agent-id'), '\0\0\0');
    expect((await checkpoints.tasks()).map((t) => t.info.taskId)).toEqual(['good']);
    expect(await checkpoints.agentId()).toBe('');
    expect(reports.map(([path]) => path).sort()).toEqual(
      [
        join(tasks, 'empty.json'),
        join(tasks, 'hollow.json'),
        join(tasks, 'torn.json'),
        join(workDir, 'meta', 'agent-id'),
      ].sort(),
    );
    expect(reports.find(([path]) => path.endsWith('empty.json'))?.[1]).toBe('the file is empty');
  });
});
