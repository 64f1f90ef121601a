/**
 * The agent's checkpoints: what it runs, in atomic files under `<workDir>/meta`, so that a
 * restarted agent (even after `kill -9`) re-attaches to its containers instead of losing them.
 * They hold task environments (a pod's token among them): files are mode 0600 in 0700
 * directories, readable by the agent's user only.
 */
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../core/files.js';
import { FrameworkInfo, TaskInfo, taskStateFromJSON, type TaskState } from '../proto/gen/galaxy/v1/common.js';

/** One task as checkpointed. */
export interface TaskCheckpoint {
  readonly framework: FrameworkInfo;
  readonly info: TaskInfo;
  readonly containerId: string;
  readonly sandbox: string;
  /** Pid of the container's leader on the host. */
  readonly pid: number;
  readonly state: TaskState;
}

interface StoredTask {
  framework: unknown;
  info: unknown;
  containerId: string;
  sandbox: string;
  pid: number;
  state: number;
}

/** Reads and writes an agent's checkpoints. */
export class Checkpointer {
  private readonly meta: string;
  private secured = false;

  constructor(workDir: string) {
    this.meta = join(workDir, 'meta');
  }

  /** The agent id the master gave this work dir, if any. */
  async agentId(): Promise<string> {
    try {
      return (await readFile(join(this.meta, 'agent-id'), 'utf8')).trim();
    } catch {
      return '';
    }
  }

  async saveAgentId(id: string): Promise<void> {
    await this.secure();
    await writeAtomic(join(this.meta, 'agent-id'), `${id}\n`, { ownerOnly: true });
  }

  async saveTask(task: TaskCheckpoint): Promise<void> {
    const stored: StoredTask = {
      framework: FrameworkInfo.toJSON(task.framework),
      info: TaskInfo.toJSON(task.info),
      containerId: task.containerId,
      sandbox: task.sandbox,
      pid: task.pid,
      state: task.state,
    };
    await this.secure();
    await writeAtomic(this.taskPath(task.framework.id, task.info.taskId), JSON.stringify(stored), { ownerOnly: true });
  }

  async removeTask(frameworkId: string, taskId: string): Promise<void> {
    await rm(this.taskPath(frameworkId, taskId), { force: true });
  }

  /** Every checkpointed task; unreadable files are skipped (and reported by the caller's orphan sweep). */
  async tasks(): Promise<TaskCheckpoint[]> {
    const root = join(this.meta, 'tasks');
    const out: TaskCheckpoint[] = [];
    const frameworks = await readdir(root).catch(() => [] as string[]);
    for (const fw of frameworks) {
      for (const file of await readdir(join(root, fw)).catch(() => [] as string[])) {
        if (!file.endsWith('.json')) continue;
        try {
          const stored = JSON.parse(await readFile(join(root, fw, file), 'utf8')) as StoredTask;
          out.push({
            framework: FrameworkInfo.fromJSON(stored.framework),
            info: TaskInfo.fromJSON(stored.info),
            containerId: stored.containerId,
            sandbox: stored.sandbox,
            pid: stored.pid,
            state: taskStateFromJSON(stored.state),
          });
        } catch {
          // A torn or foreign file: ignore it.
        }
      }
    }
    return out;
  }

  /** Makes `meta` (and `meta/tasks`) 0700, also when an older agent made them readable. */
  private async secure(): Promise<void> {
    if (this.secured) return;
    for (const dir of [this.meta, join(this.meta, 'tasks')]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    }
    this.secured = true;
  }

  private taskPath(frameworkId: string, taskId: string): string {
    return join(this.meta, 'tasks', frameworkId, `${taskId}.json`);
  }
}
