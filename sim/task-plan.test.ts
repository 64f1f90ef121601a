/** The simulator's task scripts: what it plays, and that it refuses what it cannot. */
import { describe, expect, it } from 'vitest';
import { appWorkerArgv } from '../frameworks/appmaster/index.js';
import { planTask } from './task-plan.js';

const shell = (text: string) => planTask({ shell: text, argv: [], env: {}, user: '' });
const argv = (...words: string[]) => planTask({ shell: '', argv: words, env: {}, user: '' });

describe('planTask', () => {
  it('runs sleep for its trace seconds and finishes', () => {
    expect(shell('sleep 12.5')).toEqual({ kind: 'run', durationS: 12.5, exitCode: 0, worker: false });
    expect(argv('sleep', '3')).toEqual({ kind: 'run', durationS: 3, exitCode: 0, worker: false });
  });
  it('fails with the exit code after the sleep', () => {
    expect(shell('sleep 2; exit 3')).toEqual({ kind: 'run', durationS: 2, exitCode: 3, worker: false });
    expect(shell('false')).toMatchObject({ durationS: 0, exitCode: 1 });
    expect(shell('true')).toMatchObject({ durationS: 0, exitCode: 0 });
  });
  it('runs sleep infinity and the AppWorker until killed', () => {
    expect(shell('sleep infinity')).toMatchObject({ kind: 'run', durationS: undefined });
    expect(argv('/usr/bin/node', '/opt/galaxy/dist/cli/main.js', 'appworker')).toMatchObject({
      kind: 'run',
      durationS: undefined,
      worker: true,
    });
    // What the AppMaster really starts in its pods (its own entry point, not the CLI).
    expect(argv(...appWorkerArgv())).toMatchObject({ kind: 'run', durationS: undefined, worker: true });
  });
  it('refuses every other command, naming it', () => {
    for (const command of [
      'rm -rf /',
      'sleep',
      'sleep -1',
      'sleep 1 2',
      'exit 256',
      'exit 1; sleep 2',
      'sleep $(id)',
    ]) {
      const plan = shell(command);
      expect(plan.kind, command).toBe('unsupported');
      if (plan.kind === 'unsupported') expect(plan.message).toContain(command.slice(0, 20));
    }
    expect(planTask(undefined).kind).toBe('unsupported');
  });
});
