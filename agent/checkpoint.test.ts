import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameworkInfo, TaskInfo, TaskState } from '../proto/gen/galaxy/v1/common.js';
import { Checkpointer } from './checkpoint.js';

let workDir = '';
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('checkpoints', () => {
  it('are mode 0600 in 0700 directories: they hold task environments (pod tokens)', async () => {
    workDir = await mkdtemp(join(tmpdir(), 'galaxy-checkpoint-'));
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
