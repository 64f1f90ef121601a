/**
 * The agents' pings run on one wheel: each member is visited exactly once per turn of the wheel,
 * a slot's share at a time, and a removed member is not visited again. Counted, not timed.
 */
import { describe, expect, it } from 'vitest';
import { TimerWheel } from './ping-wheel.js';

describe('TimerWheel', () => {
  it('visits every member once per period, spread over the slots', () => {
    const visits = new Map<number, number>();
    const perTick: number[] = [];
    let current = 0;
    const wheel = new TimerWheel<number>(
      60_000,
      (m) => {
        visits.set(m, (visits.get(m) ?? 0) + 1);
        current += 1;
      },
      10,
    );
    for (let i = 0; i < 12_489; i++) wheel.add(i);
    for (let tick = 0; tick < 10; tick++) {
      current = 0;
      wheel.tick();
      perTick.push(current);
    }
    wheel.stop();
    expect(visits.size).toBe(12_489);
    expect([...visits.values()].every((n) => n === 1)).toBe(true);
    expect(Math.max(...perTick) - Math.min(...perTick)).toBeLessThanOrEqual(1);
  });

  it('does not visit a removed member, even one removed during its slot', () => {
    const visited: string[] = [];
    const wheel: TimerWheel<string> = new TimerWheel(
      60_000,
      (m) => {
        visited.push(m);
        wheel.remove(m === 'a' ? 'b' : m);
      },
      1,
    );
    wheel.add('a');
    wheel.add('b');
    wheel.add('c');
    wheel.remove('c');
    wheel.tick();
    expect(visited).toEqual(['a']);
    wheel.tick();
    expect(visited).toEqual(['a', 'a']);
    expect(wheel.size).toBe(1);
    wheel.stop();
  });
});
