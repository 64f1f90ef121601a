/**
 * The AppMaster addresses pods are given follow the AppMasters' election: every candidate, this
 * AppMaster first, updated as candidates come and go.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCoordinator, MemoryStore } from '../../core/coordinator/memory.js';
import { APPMASTER_GROUP } from '../../core/leader-locator.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { AppMasterList, appMasterAddresses } from './appmasters.js';

describe('appMasterAddresses', () => {
  it('puts this AppMaster first, then the others in line, each once', () => {
    expect(appMasterAddresses('b:2', ['a:1', 'b:2', 'c:3', 'a:1'])).toEqual(['b:2', 'a:1', 'c:3']);
    expect(appMasterAddresses('a:1', [])).toEqual(['a:1']);
  });
});

describe('AppMasterList', () => {
  it('follows the candidates of the election', async () => {
    const store = new MemoryStore();
    const [leader, standby, later] = [
      new MemoryCoordinator(store),
      new MemoryCoordinator(store),
      new MemoryCoordinator(store),
    ];
    const leading = await leader.elect(APPMASTER_GROUP, 'a:1');
    void standby.elect(APPMASTER_GROUP, 'b:2').catch(() => undefined);
    const list = new AppMasterList(leader, 'a:1');
    try {
      expect(list.current).toEqual(['a:1']);
      await list.start();
      await eventually(() => list.current.length === 2, 2000, 'the standby in the list');
      expect(list.current).toEqual(['a:1', 'b:2']);
      void later.elect(APPMASTER_GROUP, 'c:3').catch(() => undefined);
      await eventually(() => list.current.length === 3, 2000, 'the later standby');
      await standby.close();
      await eventually(() => list.current.length === 2, 2000, 'the closed standby to go');
      expect(list.current).toEqual(['a:1', 'c:3']);
    } finally {
      list.stop();
      await leading.resign();
      await Promise.all([leader.close(), standby.close(), later.close()]);
    }
  });
});
