/**
 * Execs: commands the AppMaster asks a worker to run in its pod (`galaxy job exec`). Each runs
 * once per exec id, even when the AppMaster repeats the request, and its result waits until a
 * pull has carried it. Each stream of a result is bounded (`exec-output.ts`) and a pull carries
 * results up to a budget, so however much an exec prints, the pulls keep working.
 */
import type { ExecOutput, ExecRequest } from '../../../proto/gen/galaxy/v1/appmaster.js';
import { boundOutput, MAX_EXEC_OUTPUT_BYTES, withinBudget } from '../exec-output.js';
import { runCommand, type ServiceUser } from './command.js';

const DEFAULT_TIMEOUT_S = 30;
/** How many exec ids are remembered to ignore repeats. */
const REMEMBERED_IDS = 1000;

/** Runs execs and keeps their results until reported. */
export class ExecRunner {
  private readonly seen = new Set<string>();
  private results: ExecOutput[] = [];
  private readonly running = new Set<Promise<void>>();

  /**
   * @param where the directory, environment and user an exec runs with, read when it starts
   * @param onDone called when a result is ready to report
   * @param signal kills running execs (the worker is shutting down)
   */
  constructor(
    private readonly where: () => { cwd: string; env: NodeJS.ProcessEnv; user?: ServiceUser },
    private readonly onDone: () => void,
    private readonly signal?: AbortSignal,
  ) {}

  /** Starts `request` unless an exec with its id already ran or runs. */
  run(request: ExecRequest): void {
    if (this.seen.has(request.execId)) return;
    this.seen.add(request.execId);
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.values().next().value ?? '');
    const { cwd, env, user } = this.where();
    const timeoutMs = (request.timeoutS > 0 ? request.timeoutS : DEFAULT_TIMEOUT_S) * 1000;
    const done = runCommand(request.command, {
      cwd,
      env,
      user,
      timeoutMs,
      signal: this.signal,
      maxOutputBytes: MAX_EXEC_OUTPUT_BYTES,
    }).then(({ exitCode, stdout, stderr, dropped }) => {
      const result = {
        exitCode,
        stdout: boundOutput(stdout, dropped?.stdout ?? 0),
        stderr: boundOutput(stderr, dropped?.stderr ?? 0),
      };
      this.results.push({ execId: request.execId, result });
      this.running.delete(done);
      this.onDone();
    });
    this.running.add(done);
  }

  /** The oldest results not yet carried by a successful pull, as many as one pull carries. */
  pending(): ExecOutput[] {
    return withinBudget(this.results);
  }

  /** True while results wait for a pull. */
  waiting(): boolean {
    return this.results.length > 0;
  }

  /** A pull carrying `sent` was answered: those results are delivered. */
  delivered(sent: readonly ExecOutput[]): void {
    this.results = this.results.filter((r) => !sent.includes(r));
  }

  /** Resolves when every running exec has finished. */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }
}
