import { describe, expect, it } from 'vitest';
import { AllocationLoop } from './allocation-loop.js';

describe('AllocationLoop', () => {
  it('coalesces events of one turn into one pass, and runs on its interval', async () => {
    let runs = 0;
    const loop = new AllocationLoop(() => {
      runs += 1;
    }, 50);
    for (let i = 0; i < 100; i++) loop.trigger();
    await new Promise((r) => setImmediate(r));
    expect(runs).toBe(1);
    loop.start();
    await new Promise((r) => setTimeout(r, 180));
    expect(runs).toBeGreaterThanOrEqual(3);
    loop.stop();
    const after = runs;
    loop.trigger();
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).toBe(after);
  });
});
