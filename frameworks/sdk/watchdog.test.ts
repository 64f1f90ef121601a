/**
 * The watchdog: silence past the limit fires once; anything heard in time keeps it quiet.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Watchdog } from './watchdog.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Watchdog', () => {
  it('fires once when nothing is heard for longer than the limit', () => {
    const fired: number[] = [];
    const dog = new Watchdog((ms) => fired.push(ms));
    dog.arm(1000);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(300);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThan(1000);
    vi.advanceTimersByTime(10_000);
    expect(fired).toHaveLength(1);
  });

  it('stays quiet while something is heard within the limit', () => {
    const onSilence = vi.fn();
    const dog = new Watchdog(onSilence);
    dog.arm(1000);
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(500);
      dog.heard();
    }
    expect(onSilence).not.toHaveBeenCalled();
    dog.disarm();
    vi.advanceTimersByTime(10_000);
    expect(onSilence).not.toHaveBeenCalled();
  });

  it('does not watch a master that sends no heartbeats', () => {
    const onSilence = vi.fn();
    new Watchdog(onSilence).arm(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
