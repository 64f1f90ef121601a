import { describe, expect, it } from 'vitest';
import { capabilityMask, DEFAULT_CAPABILITIES, extraCapabilities, parseCapabilities } from './capabilities.js';

describe('capabilities', () => {
  it("masks Docker's default bounding set as the kernel shows it (CapBnd 00000000a80425fb)", () => {
    expect(capabilityMask([])).toBe('a80425fb');
    expect(capabilityMask(['NET_ADMIN'])).toBe((0xa80425fbn | (1n << 12n)).toString(16));
  });

  it('takes names with or without CAP_, in any case; refuses unknown ones by name', () => {
    expect(parseCapabilities(['cap_net_admin', 'NET_ADMIN', 'sys_time'], 'x')).toEqual(['NET_ADMIN', 'SYS_TIME']);
    expect(() => parseCapabilities(['GOD_MODE'], 'spec.container.capabilities', 'GALAXY_E_TASK_INVALID')).toThrow(
      /GALAXY_E_TASK_INVALID: spec.container.capabilities: "GOD_MODE" is not a Linux capability/,
    );
  });

  it('needs an authority only for capabilities beyond the default set', () => {
    expect(extraCapabilities(['KILL', 'CHOWN'])).toEqual([]);
    expect(extraCapabilities(['KILL', 'SYS_ADMIN'])).toEqual(['SYS_ADMIN']);
    expect(DEFAULT_CAPABILITIES).not.toContain('SYS_ADMIN');
  });
});
