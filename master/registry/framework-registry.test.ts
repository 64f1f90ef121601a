/**
 * The framework registry on a memory coordinator: records survive into a new registry loaded from
 * the same coordinator (a new leader), removals are forgotten, an unreadable record is skipped
 * and reported, and a failed write stores nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { createLogger } from '../../core/logger.js';
import { FRAMEWORKS_DIR, FrameworkRegistry } from './framework-registry.js';

const log = createLogger('test', 'silent');
let coordinator: MemoryCoordinator;

afterEach(async () => {
  await coordinator.close();
});

describe('FrameworkRegistry', () => {
  it('keeps owners and roles for the next leader, and forgets removed frameworks', async () => {
    coordinator = new MemoryCoordinator();
    const first = await FrameworkRegistry.load(coordinator, log);
    await first.put('fw-a', { owner: 'alice', roles: ['alice'], name: 'a', createdAt: 1 });
    await first.put('fw-b', { owner: 'bob', roles: ['bob', 'eng'], name: 'b', createdAt: 2 });
    await first.remove('fw-a');
    const next = await FrameworkRegistry.load(coordinator, log);
    expect(next.get('fw-a')).toBeUndefined();
    expect(next.get('fw-b')).toEqual({ owner: 'bob', roles: ['bob', 'eng'], name: 'b', createdAt: 2 });
  });

  it('skips a record that is not a framework, leaving its framework without a known owner', async () => {
    coordinator = new MemoryCoordinator();
    await coordinator.put(`${FRAMEWORKS_DIR}/fw-torn`, '{"own');
    await coordinator.put(`${FRAMEWORKS_DIR}/fw-odd`, '{"roles":[]}');
    const registry = await FrameworkRegistry.load(coordinator, log);
    expect(registry.get('fw-torn')).toBeUndefined();
    expect(registry.get('fw-odd')).toBeUndefined();
  });

  it('stores nothing when the write fails', async () => {
    coordinator = new MemoryCoordinator();
    const registry = await FrameworkRegistry.load(coordinator, log);
    await coordinator.close();
    await expect(registry.put('fw-c', { owner: 'carol', roles: [], name: 'c', createdAt: 3 })).rejects.toThrow(
      /GALAXY_E_COORD/,
    );
    expect(registry.get('fw-c')).toBeUndefined();
    coordinator = new MemoryCoordinator();
  });
});
