/** `galaxy agent --cpu-lend-*`: numbers become settings; anything else is refused, naming the flag. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addCpuLendFlags, cpuLendFromFlags, type CpuLendFlags } from './cpu-lend-flags.js';

describe('cpu lending flags', () => {
  it('parses the flags into settings and leaves out those not given', () => {
    const command = addCpuLendFlags(new Command('agent')).exitOverride();
    command.parse(['--cpu-lend-interval', '500', '--cpu-lend-low-idle', '300', '--cpu-lend-max', '2000'], {
      from: 'user',
    });
    expect(cpuLendFromFlags(command.opts<CpuLendFlags>())).toEqual({ intervalMs: 500, lowIdle: 300, maxLoan: 2000 });
  });

  it('refuses a value that is not a number', () => {
    expect(() => cpuLendFromFlags({ cpuLendStep: 'lots' })).toThrow(
      /GALAXY_E_INVALID_ARGUMENT: --cpu-lend-step lots: not a number/,
    );
    expect(() => cpuLendFromFlags({ cpuLendHighIdle: ' ' })).toThrow(/--cpu-lend-high-idle/);
  });
});
