import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findTokens, newToken } from './auth/tokens.js';
import { createLogger, REDACTED } from './logger.js';

describe('logger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'galaxy-logger-test-'));
  const saved = process.env.GALAXY_LOG_FILE;
  afterEach(() => {
    if (saved === undefined) delete process.env.GALAXY_LOG_FILE;
    else process.env.GALAXY_LOG_FILE = saved;
  });

  it('never writes a token, wherever a caller puts one, and writes the rest', () => {
    const file = join(dir, 'redact.log');
    process.env.GALAXY_LOG_FILE = file;
    const token = newToken();
    const log = createLogger('redact-test', 'info');
    log.info({ token, metadata: { authorization: `Bearer ${token}` } }, 'call');
    log.info({ task: { env: { GALAXY_POD_TOKEN: token, PATH: '/usr/bin' } } }, 'launch');
    log.info({ env: { SERVICE_SECRET: token, HOME: '/root' }, user: { token } }, 'spawn');
    const text = readFileSync(file, 'utf8');
    expect(findTokens(text)).toEqual([]);
    expect(text).toContain(REDACTED);
    expect(text).toContain('/usr/bin');
    expect(text).toContain('/root');
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the audit finds a token in any text', () => {
    const token = newToken();
    expect(findTokens(`{"msg":"oops ${token} here"}`)).toEqual([token]);
    expect(findTokens('glx_short and glx_not-a-real-token')).toEqual([]);
  });
});
