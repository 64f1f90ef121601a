/**
 * The agent's checkpoints: what it runs, in atomic files under `<workDir>/meta`, so that a
 * restarted agent (even after `kill -9`) re-attaches to its containers instead of losing them.
 * They hold task environments (a pod's token among them): files are mode 0600 in 0700
 * directories, readable by the agent's user only.
 * Files are written durably (`writeAtomic` fsyncs); one found torn or empty anyway is reported
 * with its path and skipped, and the agent starts (its container, if any, is an orphan then).
 */
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tornReason, writeAtomic } from '../core/files.js';
import { checkId } from '../core/validate.js';
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

  /** @param reportTorn told of each checkpoint file that cannot be read, by path */
  constructor(
    workDir: string,
    private readonly reportTorn: (path: string, reason: string) => void = () => undefined,
  ) {
    this.meta = join(workDir, 'meta');
  }

  /** The agent id the master gave this work dir, if any ('' when none, or when the file is torn). */
  async agentId(): Promise<string> {
    const path = join(this.meta, 'agent-id');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return '';
    }
    try {
      checkId(text.trim(), 'agent-id');
      return text.trim();
    } catch (error) {
      this.reportTorn(path, tornReason(text, error));
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
        const path = join(root, fw, file);
        let text = '';
        try {
          text = await readFile(path, 'utf8');
          const stored = JSON.parse(text) as Partial<StoredTask> | null;
          if (
            !stored?.framework ||
            !stored.info ||
            typeof stored.containerId !== 'string' ||
            typeof stored.sandbox !== 'string' ||
            !Number.isInteger(stored.pid) ||
            typeof stored.state !== 'number'
          )
            throw new Error('framework, info, containerId, sandbox, pid or state is missing');
          out.push({
            framework: FrameworkInfo.fromJSON(stored.framework),
            info: TaskInfo.fromJSON(stored.info),
            containerId: stored.containerId,
            sandbox: stored.sandbox,
            pid: stored.pid as number,
            state: taskStateFromJSON(stored.state),
          });
        } catch (error) {
          this.reportTorn(path, tornReason(text, error));
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
