import { describe, expect, it } from 'vitest';
import { volumeTarget } from './target.js';

describe('volumeTarget', () => {
  it('puts a relative volume inside the sandbox and an absolute one at its path in the root', () => {
    expect(volumeTarget('/w/sandbox', 'data/x')).toBe('/w/sandbox/data/x');
    expect(volumeTarget('/w/sandbox', '/srv/x')).toBe('/srv/x');
  });
});
