/**
 * The lending's settings from `galaxy agent --cpu-lend-*` (or {@link AgentOptions}): defaults
 * filled in and each value checked, so that a bad flag stops the agent before it starts.
 */
import { GalaxyError } from '../../core/errors.js';
import { DEFAULT_CPU_LEND, type CpuLendConfig } from './plan.js';

/** The flag that sets each setting, named in errors. */
const FLAGS: Readonly<Record<keyof CpuLendConfig, string>> = {
  intervalMs: '--cpu-lend-interval',
  highIdle: '--cpu-lend-high-idle',
  lowIdle: '--cpu-lend-low-idle',
  step: '--cpu-lend-step',
  maxLoan: '--cpu-lend-max',
  busyShare: 'busyShare',
  throttledShare: 'throttledShare',
  patience: 'patience',
};

/** Least interval: the kernel's cpuacct figures are too coarse for shorter ones to mean much. */
const MIN_INTERVAL_MS = 50;

function invalid(key: keyof CpuLendConfig, value: number, rule: string): GalaxyError {
  return new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${FLAGS[key]} ${value}: ${rule}`);
}

/** The settings with defaults for what `overrides` leaves out; throws GALAXY_E_INVALID_ARGUMENT on a bad one. */
export function cpuLendConfig(overrides: Partial<CpuLendConfig> = {}): CpuLendConfig {
  const config: CpuLendConfig = { ...DEFAULT_CPU_LEND, ...overrides };
  for (const key of Object.keys(FLAGS) as (keyof CpuLendConfig)[])
    if (!Number.isFinite(config[key]) || config[key] < 0)
      throw invalid(key, config[key], 'must be a number ≥ 0 (millicores, or ms for the interval)');
  if (config.intervalMs < MIN_INTERVAL_MS)
    throw invalid('intervalMs', config.intervalMs, `must be ≥ ${MIN_INTERVAL_MS} ms`);
  if (config.step <= 0) throw invalid('step', config.step, 'must be > 0 millicores');
  if (config.lowIdle > config.highIdle)
    throw invalid('lowIdle', config.lowIdle, `must be ≤ --cpu-lend-high-idle (${config.highIdle})`);
  if (config.busyShare > 1) throw invalid('busyShare', config.busyShare, 'must be ≤ 1');
  if (config.throttledShare > 1) throw invalid('throttledShare', config.throttledShare, 'must be ≤ 1');
  return config;
}
