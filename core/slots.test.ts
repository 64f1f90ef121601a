import { describe, expect, it } from 'vitest';
import { Slots } from './slots.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Slots', () => {
  it('runs at most `size` at once, the rest in order, and frees a slot when work fails', async () => {
    const slots = new Slots(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const work = (i: number) =>
      slots.run(async () => {
        running += 1;
        most = Math.max(most, running);
        order.push(i);
        await tick();
        running -= 1;
        if (i === 1) throw new Error('boom');
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map(work));
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(await slots.run(() => Promise.resolve('free again'))).toBe('free again');
  });

  it('frees a slot early when the work releases it, once only', async () => {
    const slots = new Slots(1);
    let finish!: () => void;
    const first = slots.run(async (release) => {
      release();
      release(); // a second release frees nothing more
      await new Promise<void>((resolve) => (finish = resolve));
      return 'first';
    });
    // The second runs while the first is still pending; a third waits for the second.
    let thirdRan = false;
    let endSecond!: () => void;
    const second = slots.run(
      () =>
        new Promise<string>((resolve) => {
          endSecond = () => {
            resolve('second');
          };
        }),
    );
    const third = slots.run(() => {
      thirdRan = true;
      return Promise.resolve('third');
    });
    await tick();
    expect(typeof endSecond).toBe('function');
    expect(thirdRan).toBe(false);
    endSecond();
    expect(await second).toBe('second');
    expect(await third).toBe('third');
    finish();
    expect(await first).toBe('first');
    expect(await slots.run(() => Promise.resolve('free again'))).toBe('free again');
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new Slots(0)).toThrow(RangeError);
    expect(() => new Slots(1.5)).toThrow(RangeError);
  });
});
