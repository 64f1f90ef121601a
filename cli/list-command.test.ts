/**
 * Listing commands against a real master over gRPC: `--master` and `--output` on each, rows as a
 * table or JSON, the optional operand passed to the listing, and a default listing (`galaxy
 * weights` = `galaxy weights show`).
 */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMaster, type Master } from '../master/master.js';
import { addListCommand } from './list-command.js';
import { addListingCommands } from './listings.js';
import { operatorClient } from './operator-client.js';

let master: Master;

beforeAll(async () => {
  master = await startMaster({ listen: '127.0.0.1:0', insecureNoAuth: true, logLevel: 'silent' });
  const op = operatorClient(master.address);
  try {
    await op.setWeights({ weights: [{ role: 'eng', weight: 2 }] });
  } finally {
    op.close();
  }
});

afterAll(async () => {
  await master.stop();
});

/** Runs `args` on a program built by `build`, returning what it printed. */
async function run(build: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  build(program);
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((text: unknown) => {
    printed.push(String(text));
  });
  try {
    await program.parseAsync(['node', 'galaxy', ...args]);
  } finally {
    log.mockRestore();
  }
  return printed.join('\n');
}

describe('addListCommand', () => {
  it('prints the rows as a table or as JSON, and passes the operand to the listing', async () => {
    const seen: (string | undefined)[] = [];
    const build = (program: Command) =>
      addListCommand(program, 'roles [prefix]', 'unused:1', {
        description: 'weighted roles',
        columns: [
          { heading: 'ROLE', value: (w: { role: string; weight: number }) => w.role },
          { heading: 'WEIGHT', value: (w: { role: string; weight: number }) => w.weight },
        ],
        rows: async (op, prefix) => {
          seen.push(prefix);
          return (await op.getWeights({})).weights.filter((w) => w.role.startsWith(prefix ?? ''));
        },
      });
    const json = await run(build, ['roles', '-m', master.address, '-o', 'json']);
    expect(JSON.parse(json)).toEqual([{ role: 'eng', weight: 2 }]);
    const table = await run(build, ['roles', 'en', '--master', master.address]);
    expect(table).toMatch(/ROLE\s+WEIGHT/);
    expect(table).toMatch(/eng\s+2/);
    expect(await run(build, ['roles', 'ops', '-m', master.address, '-o', 'json'])).toBe('[]');
    expect(seen).toEqual([undefined, 'en', 'ops']);
  });

  it('refuses an unknown output format with a coded error before calling the master', async () => {
    const build = (program: Command) => {
      addListingCommands(program, master.address);
    };
    await expect(run(build, ['agents', '-o', 'xml'])).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_ARGUMENT',
      message: expect.stringContaining('--output must be one of table, wide, json, yaml') as string,
    });
  });

  it('runs a default listing when its parent is called alone (galaxy weights)', async () => {
    const build = (program: Command) => {
      addListingCommands(program, master.address);
    };
    expect(JSON.parse(await run(build, ['weights', '-o', 'json']))).toEqual([{ role: 'eng', weight: 2 }]);
  });
});
