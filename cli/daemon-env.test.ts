/** Daemon flags from `GALAXY_<DAEMON>_<FLAG>`: command line over environment over default. */
import { execFileSync } from 'node:child_process';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { GALAXY_BIN } from '../test/helpers/processes.js';
import { bindDaemonEnv } from './daemon-env.js';

function program(seen: Record<string, unknown>[]): Command {
  const root = new Command().exitOverride();
  const action = (options: Record<string, unknown>) => {
    seen.push(options);
  };
  root
    .command('agent')
    .option('-w, --work-dir <dir>', 'dir', '/var/lib/galaxy/agent')
    .option('--verbose')
    .action(action);
  root.command('framework').command('run').option('--listen <a>', 'address').action(action);
  root.command('jobs').option('--work-dir <dir>').action(action);
  bindDaemonEnv(root, [['agent'], ['framework', 'run']]);
  return root;
}

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('daemon flags from the environment', () => {
  it('reads GALAXY_<DAEMON>_<FLAG>, with the command line winning and the default last', async () => {
    const seen: Record<string, unknown>[] = [];
    await program(seen).parseAsync(['agent'], { from: 'user' });
    process.env.GALAXY_AGENT_WORK_DIR = '/srv/agent';
    process.env.GALAXY_AGENT_VERBOSE = '1';
    await program(seen).parseAsync(['agent'], { from: 'user' });
    await program(seen).parseAsync(['agent', '--work-dir', '/cli'], { from: 'user' });
    process.env.GALAXY_FRAMEWORK_RUN_LISTEN = '10.0.0.1:5060';
    await program(seen).parseAsync(['framework', 'run'], { from: 'user' });
    expect(seen).toEqual([
      { workDir: '/var/lib/galaxy/agent' },
      { workDir: '/srv/agent', verbose: true },
      { workDir: '/cli', verbose: true },
      { listen: '10.0.0.1:5060' },
    ]);
  });

  it('leaves commands that are not daemons alone', async () => {
    const seen: Record<string, unknown>[] = [];
    process.env.GALAXY_JOBS_WORK_DIR = '/nope';
    await program(seen).parseAsync(['jobs'], { from: 'user' });
    expect(seen).toEqual([{}]);
  });

  it("names the variables in the real daemons' help", () => {
    const help = (...args: string[]) =>
      execFileSync(process.execPath, [GALAXY_BIN, ...args, '--help'], { encoding: 'utf8' });
    expect(help('agent')).toMatch(/env:\s+GALAXY_AGENT_WORK_DIR/);
    expect(help('master')).toMatch(/env:\s+GALAXY_MASTER_LISTEN/);
    expect(help('appmaster')).toMatch(/env:\s+GALAXY_APPMASTER_/);
  });
});
