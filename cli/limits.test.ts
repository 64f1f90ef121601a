/**
 * `galaxy master --limit name=value`: sizes, durations and counts by the limit's name; unknown
 * names and unreadable values are refused, naming what is accepted.
 */
import { describe, expect, it } from 'vitest';
import { parseMasterLimits } from './limits.js';

describe('parseMasterLimits', () => {
  it('reads counts, sizes and durations, routing server limits to the server', () => {
    expect(
      parseMasterLimits([
        'frameworksPerPrincipal=8',
        'streamQueueBytes=256KiB',
        'recordRetentionMs=2s',
        'maxConnections=512',
        'maxMessageBytes=4096',
        'maxConnectionIdleMs=5m',
      ]),
    ).toEqual({
      frameworksPerPrincipal: 8,
      streamQueueBytes: 256 * 1024,
      recordRetentionMs: 2000,
      server: { maxConnections: 512, maxMessageBytes: 4096, maxConnectionIdleMs: 300_000 },
    });
  });

  it('refuses unknown names and unreadable values', () => {
    expect(() => parseMasterLimits(['frameworks=3'])).toThrow(
      /GALAXY_E_INVALID_ARGUMENT: --limit takes name=value .*frameworksPerPrincipal/,
    );
    expect(() => parseMasterLimits(['maxConnections'])).toThrow(/--limit takes name=value/);
    expect(() => parseMasterLimits(['recordRetentionMs=soon'])).toThrow(/is not a duration/);
    expect(() => parseMasterLimits(['tasksPerAccept=1.5'])).toThrow(/is not a whole number/);
  });
});
