/**
 * The systemd units: systemd itself accepts them (`systemd-analyze verify`, with ExecStart pointed
 * at the built CLI), and the agent's unit keeps containers alive across a restart of the agent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GALAXY_BIN } from '../../test/helpers/processes.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-units-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The settings of a unit's [Service] section. */
async function service(unit: string): Promise<Map<string, string>> {
  const text = await readFile(join(here, unit), 'utf8');
  const section = text.split(/^\[Service\]$/m)[1]?.split(/^\[/m)[0] ?? '';
  return new Map(
    section
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('systemd units', () => {
  it('pass systemd-analyze verify', async () => {
    const units = (await readdir(here)).filter((f) => f.endsWith('.service'));
    expect(units.sort()).toEqual(['galaxy-agent.service', 'galaxy-appmaster.service', 'galaxy-master.service']);
    for (const unit of units) {
      const text = (await readFile(join(here, unit), 'utf8'))
        .replace('ExecStart=/usr/bin/galaxy', `ExecStart=${process.execPath} ${GALAXY_BIN}`)
        .replace(/^EnvironmentFile=.*$/m, `EnvironmentFile=-${join(dir, 'none.env')}`)
        .replace(/^(User|Group)=galaxy$/gm, '$1=root');
      await writeFile(join(dir, unit), text);
      // Throws (with systemd's complaint) when the unit is not valid.
      execFileSync('systemd-analyze', ['verify', '--man=no', join(dir, unit)], { stdio: 'pipe' });
    }
  });

  it('let the agent manage its cgroups and keep containers when it stops', async () => {
    const agent = await service('galaxy-agent.service');
    expect(agent.get('Delegate')).toBe('yes');
    expect(agent.get('KillMode')).toBe('process');
    expect(agent.get('ExecStart')).toBe('/usr/bin/galaxy agent');
    for (const unit of ['galaxy-master.service', 'galaxy-appmaster.service']) {
      const daemon = await service(unit);
      expect(daemon.get('Restart')).toBe('always');
      expect(daemon.get('User')).toBe('galaxy');
    }
  });
});
