/**
 * `galaxy agent --cpu-lend-*`: the flags of the cpu lending controller (agent/cpu-lend/), declared
 * and parsed here so that the agent command only spreads them. Values are millicores (cpus × 1000)
 * and milliseconds; the agent checks their ranges (agent/cpu-lend/config.ts).
 */
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import type { CpuLendConfig } from '../agent/cpu-lend/plan.js';
import { DEFAULT_CPU_LEND } from '../agent/cpu-lend/plan.js';

/** The flags as commander hands them over. */
export interface CpuLendFlags {
  cpuLendInterval?: string;
  cpuLendHighIdle?: string;
  cpuLendLowIdle?: string;
  cpuLendStep?: string;
  cpuLendMax?: string;
}

/** Flag, its key in {@link CpuLendFlags} and {@link CpuLendConfig}, and its help. */
const FLAGS = [
  ['--cpu-lend-interval <ms>', 'cpuLendInterval', 'intervalMs', 'how often idle cpu and usage are sampled'],
  ['--cpu-lend-high-idle <millicores>', 'cpuLendHighIdle', 'highIdle', 'idle cpu above which the agent lends'],
  ['--cpu-lend-low-idle <millicores>', 'cpuLendLowIdle', 'lowIdle', 'idle cpu under which every loan is taken back'],
  ['--cpu-lend-step <millicores>', 'cpuLendStep', 'step', 'lent or given back per container per interval'],
  ['--cpu-lend-max <millicores>', 'cpuLendMax', 'maxLoan', 'most a container is lent'],
] as const;

/** Adds the flags to the agent command. */
export function addCpuLendFlags(command: Command): Command {
  for (const [flag, , key, help] of FLAGS)
    command.option(flag, `cpu lending to soft-limited tasks (cpu.excess): ${help} (default ${DEFAULT_CPU_LEND[key]})`);
  return command;
}

/** The settings the flags give; GALAXY_E_INVALID_ARGUMENT when one is not a number. */
export function cpuLendFromFlags(flags: CpuLendFlags): Partial<CpuLendConfig> {
  const config: Partial<Record<keyof CpuLendConfig, number>> = {};
  for (const [flag, name, key] of FLAGS) {
    const text = flags[name];
    if (text === undefined) continue;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value))
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag.split(' ')[0]} ${text}: not a number`);
    config[key] = value;
  }
  return config;
}
