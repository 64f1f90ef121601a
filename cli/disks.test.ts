import { describe, expect, it } from 'vitest';
import { AgentSummary } from '../proto/gen/galaxy/v1/operator.js';
import { diskRows, renderDisks } from './disks.js';

const GiB = 1024 ** 3;

const agent = (id: string, hostname: string, disks: AgentSummary['disks']): AgentSummary =>
  AgentSummary.fromPartial({ info: { id, hostname }, active: true, disks });

const agents = [
  agent('a2', 'beta', [
    { name: 'hdd1', medium: 'hdd', capacity: 4 * GiB, used: GiB, offered: 0, free: 3 * GiB, held: 0 },
  ]),
  agent('a1', 'alpha', [
    { name: 'hdd1', medium: 'hdd', capacity: 2 * GiB, used: 0, offered: 2 * GiB, free: 2 * GiB, held: 0 },
    { name: 'ssd1', medium: 'ssd', capacity: GiB, used: GiB / 2, offered: 0, free: GiB / 2, held: 0 },
  ]),
  agent('a3', 'gamma', []),
];

describe('galaxy disks', () => {
  it('has one row per disk, by host; one agent by id or hostname; an unknown one is refused', () => {
    expect(diskRows(agents).map((r) => `${r.hostname}/${r.disk.name}`)).toEqual([
      'alpha/hdd1',
      'alpha/ssd1',
      'beta/hdd1',
    ]);
    expect(diskRows(agents, 'a2').map((r) => r.disk.name)).toEqual(['hdd1']);
    expect(diskRows(agents, 'alpha')).toHaveLength(2);
    expect(diskRows(agents, 'gamma')).toEqual([]);
    expect(() => diskRows(agents, 'nope')).toThrow(/GALAXY_E_AGENT_UNKNOWN|no agent has the id or hostname "nope"/);
  });

  it('prints the disks, then the totals per medium', () => {
    const lines = renderDisks(diskRows(agents), 'table')
      .split('\n')
      .map((line) => line.trim());
    expect(lines[0]).toMatch(/^HOST\s+DISK\s+MEDIUM\s+CAPACITY\s+USED\s+FREE$/);
    expect(lines[1]).toMatch(/^alpha\s+hdd1\s+hdd\s+2GiB\s+0B\s+2GiB$/);
    expect(lines[2]).toMatch(/^alpha\s+ssd1\s+ssd\s+1GiB\s+512MiB\s+512MiB$/);
    expect(lines[3]).toMatch(/^beta\s+hdd1\s+hdd\s+4GiB\s+1GiB\s+3GiB$/);
    expect(lines[4]).toBe('');
    expect(lines[5]).toMatch(/^MEDIUM\s+DISKS\s+CAPACITY\s+USED\s+FREE$/);
    expect(lines[6]).toMatch(/^ssd\s+1\s+1GiB\s+512MiB\s+512MiB$/);
    expect(lines[7]).toMatch(/^hdd\s+2\s+6GiB\s+1GiB\s+5GiB$/);
    expect(renderDisks([], 'table')).toMatch(/no named disks/);
  });

  it('gives scripts both as one JSON document', () => {
    const doc = JSON.parse(renderDisks(diskRows(agents, 'beta'), 'json')) as {
      disks: Record<string, unknown>[];
      media: Record<string, unknown>[];
    };
    expect(doc.disks).toEqual([
      {
        agentId: 'a2',
        hostname: 'beta',
        name: 'hdd1',
        medium: 'hdd',
        capacity: 4 * GiB,
        used: GiB,
        free: 3 * GiB,
      },
    ]);
    expect(doc.media).toEqual([{ medium: 'hdd', disks: 1, capacity: 4 * GiB, used: GiB, free: 3 * GiB }]);
  });
});
