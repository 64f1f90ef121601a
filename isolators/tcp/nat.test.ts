/**
 * The nftables ruleset of one container (`natRuleset`), without the kernel: what it publishes,
 * what it guards, and that nothing outside Galaxy's own names reaches the script.
 */
import { describe, expect, it } from 'vitest';
import { natRuleset } from './nat.js';

const target = { table: 'galaxy-abc123-0f0f0f0f', hostIf: 'gxh0f0f0f0f', containerIp: '10.213.0.6', ports: [] };

describe('natRuleset', () => {
  it('publishes every port range, TCP and UDP, on the agent addresses, from other hosts and from the agent', () => {
    const script = natRuleset({
      ...target,
      ports: [
        { begin: 31000, end: 31009 },
        { begin: 31020, end: 31020 },
      ],
    });
    const publish =
      'fib daddr type local meta l4proto { tcp, udp } th dport { 31000-31009, 31020 } dnat ip to 10.213.0.6';
    expect(script.split(publish)).toHaveLength(3); // prerouting and output
    expect(script).toContain('type nat hook prerouting priority dstnat');
    expect(script).toContain('type nat hook output priority -100');
  });

  it('publishes nothing without ports, but still guards and masquerades', () => {
    const script = natRuleset(target);
    expect(script).not.toContain('dnat');
    expect(script).toContain('iifname "gxh0f0f0f0f" ip daddr 127.0.0.0/8 drop');
    expect(script).toContain('iifname "gxh0f0f0f0f" ip saddr != 10.213.0.6 drop');
    expect(script).toContain('ip saddr 10.213.0.6 oifname != "gxh0f0f0f0f" masquerade');
  });

  it('replaces a stale table of the same name in the same transaction', () => {
    const lines = natRuleset(target).split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'add table ip galaxy-abc123-0f0f0f0f',
      'delete table ip galaxy-abc123-0f0f0f0f',
      'table ip galaxy-abc123-0f0f0f0f {',
    ]);
  });

  it('refuses names, addresses and ports that are not plain (nothing else reaches nft)', () => {
    expect(() => natRuleset({ ...target, table: 'x; flush ruleset' })).toThrow(/not a plain name/);
    expect(() => natRuleset({ ...target, hostIf: 'gxh"0' })).toThrow(/not a plain name/);
    expect(() => natRuleset({ ...target, containerIp: '10.213.0.6 drop' })).toThrow(/not an IPv4 address/);
    expect(() => natRuleset({ ...target, ports: [{ begin: 0, end: 80 }] })).toThrow(/1-65535/);
    expect(() => natRuleset({ ...target, ports: [{ begin: 90, end: 80 }] })).toThrow(/1-65535/);
  });
});
