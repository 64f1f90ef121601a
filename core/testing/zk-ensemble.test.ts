/**
 * The test ensemble itself, against real ZooKeeper JVMs: its ports come from its own block below
 * the kernel's ephemeral range (no busy test's outgoing connection can take one between the probe
 * and the JVM's bind), and a server that cannot start fails the start at once, with its log.
 */
import { describe, expect, it } from 'vitest';
import { freePort, startZkEnsemble } from './zk-ensemble.js';

const EPHEMERAL_FIRST = 32_768;

describe('the ZooKeeper test ensemble', { timeout: 60_000 }, () => {
  it('hands out distinct ports below the ephemeral range', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(29_000);
      expect(port).toBeLessThan(EPHEMERAL_FIRST);
    }
  });

  it('starts three servers on such ports, which serve', async () => {
    const ensemble = await startZkEnsemble(3);
    try {
      for (const server of ensemble.servers) expect(server.clientPort).toBeLessThan(EPHEMERAL_FIRST);
      expect(ensemble.connectString.split(',')).toHaveLength(3);
    } finally {
      await ensemble.stop();
    }
  });

  it('fails at once, with the server log, when a server cannot start', async () => {
    const started = Date.now();
    // A heap the JVM refuses: every server exits before it listens.
    await expect(startZkEnsemble(3, { heapMib: 1 })).rejects.toThrow(/server \d exited while starting:\n[^]*heap/i);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
