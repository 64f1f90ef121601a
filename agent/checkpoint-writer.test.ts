/** When task checkpoints are written: in turn, never for a task that ended first, never after their removal. */
import { describe, expect, it } from 'vitest';
import { FrameworkInfo, TaskInfo, TaskState } from '../proto/gen/galaxy/v1/common.js';
import type { Checkpointer, TaskCheckpoint } from './checkpoint.js';
import { CheckpointWriter } from './checkpoint-writer.js';

function fakeCheckpointer() {
  const log: string[] = [];
  const gates: (() => void)[] = [];
  const store = {
    saveTask: (task: TaskCheckpoint) =>
      new Promise<void>((resolve) => {
        log.push(`save ${task.info.taskId}`);
        gates.push(() => {
          log.push(`saved ${task.info.taskId}`);
          resolve();
        });
      }),
    removeTask: (_fw: string, taskId: string) => {
      log.push(`remove ${taskId}`);
      return Promise.resolve();
    },
  };
  return { store: store as unknown as Checkpointer, log, open: () => gates.shift()?.() };
}

const task = (taskId: string): TaskCheckpoint => ({
  framework: FrameworkInfo.fromPartial({ id: 'fw' }),
  info: TaskInfo.fromPartial({ taskId }),
  containerId: `c-${taskId}`,
  sandbox: `/s/${taskId}`,
  pid: 1,
  state: TaskState.TASK_RUNNING,
});
const tick = () => new Promise((r) => setImmediate(r));

describe('the checkpoint writer', () => {
  it('writes two at a time, skips a task that ended before its turn, and removes only what it wrote, after the write', async () => {
    const { store, log, open } = fakeCheckpointer();
    const writer = new CheckpointWriter(store);
    const live = new Set(['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c']) writer.save(task(id), () => live.has(id));
    await tick();
    expect(log).toEqual(['save a', 'save b']); // c waits its turn
    live.delete('c'); // c ended meanwhile: never written
    const removeA = writer.remove('fw', 'a'); // waits for a's write in flight
    await tick();
    expect(log).not.toContain('remove a');
    open();
    await removeA;
    open();
    await writer.settled();
    expect(log).toEqual(['save a', 'save b', 'saved a', 'remove a', 'saved b']);
    await writer.remove('fw', 'c'); // queued but skipped: nothing to remove
    await writer.remove('fw', 'never');
    expect(log.filter((l) => l.startsWith('remove'))).toEqual(['remove a']);
  });

  it('removes a checkpoint found at recovery', async () => {
    const { store, log } = fakeCheckpointer();
    const writer = new CheckpointWriter(store);
    writer.adopt('fw', 'old');
    await writer.remove('fw', 'old');
    expect(log).toEqual(['remove old']);
  });
});
