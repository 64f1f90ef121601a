/** The CLI's contexts: what a context stands in for, which one is used, and bad files refused. */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextEnvironment, readConfig, selectContext, writeConfig, type CliConfig } from './file.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config: CliConfig = {
  'current-context': 'dev',
  contexts: {
    dev: { master: '127.0.0.1:5050', 'token-file': '~/.galaxy/dev.token' },
    prod: { master: 'zk://10.0.0.1:2181/galaxy', appmaster: '10.0.0.5:5060', 'tls-ca': '/etc/galaxy/ca.pem' },
  },
};

describe('contexts', () => {
  it('fill in only the variables the environment leaves unset, expanding ~ in file paths', () => {
    expect(contextEnvironment(config.contexts.dev ?? {}, {})).toEqual({
      GALAXY_MASTER: '127.0.0.1:5050',
      GALAXY_TOKEN_FILE: join(homedir(), '.galaxy/dev.token'),
    });
    expect(contextEnvironment(config.contexts.prod ?? {}, { GALAXY_MASTER: 'flag-or-env:1' })).toEqual({
      GALAXY_APPMASTER: '10.0.0.5:5060',
      GALAXY_TLS_CA: '/etc/galaxy/ca.pem',
    });
  });

  it('are chosen by --context, then $GALAXY_CONTEXT, then the current one', () => {
    expect(selectContext(config, ['agents'], {})).toBe('dev');
    expect(selectContext(config, ['agents'], { GALAXY_CONTEXT: 'prod' })).toBe('prod');
    expect(selectContext(config, ['--context', 'prod', 'agents'], { GALAXY_CONTEXT: 'dev' })).toBe('prod');
    expect(selectContext(config, ['--context=prod', 'agents'], {})).toBe('prod');
    expect(selectContext(config, ['job', 'exec', 'x', 'y', '--', '--context', 'prod'], {})).toBe('dev');
    expect(() => selectContext(config, ['--context', 'nope'], {})).toThrow(/no context "nope"/);
    expect(selectContext({ contexts: {} }, ['agents'], {})).toBeUndefined();
  });

  it('are stored 0600 and read back; a malformed file is an error naming it and the field', async () => {
    const path = join(dir, 'sub', 'config.yaml');
    await writeConfig(path, config);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(readConfig(path)).toEqual(config);
    expect(readConfig(join(dir, 'absent.yaml'))).toEqual({ contexts: {} });
    await writeFile(path, 'contexts:\n  dev:\n    mastr: 127.0.0.1:5050\n');
    expect(() => readConfig(path)).toThrow(/config.yaml: contexts\.dev.*mastr|Unrecognized key.*mastr/s);
    await writeFile(path, 'contexts: [\n');
    expect(() => readConfig(path)).toThrow(/is not YAML/);
  });
});
