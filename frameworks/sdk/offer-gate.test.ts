import { describe, expect, it } from 'vitest';
import { GalaxyError } from '../../core/errors.js';
import type { SchedulerDriver } from './driver.js';
import { OfferGate } from './offer-gate.js';

/** Lets the gate's queued calls go out. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A driver that records the gate's calls; `suppressAnswer` makes each SUPPRESS's answer (default: at once). */
function recordingDriver(suppressAnswer: () => Promise<void> = () => Promise.resolve()): {
  driver: SchedulerDriver;
  calls: string[];
} {
  const calls: string[] = [];
  const driver = {
    revive: () => {
      calls.push('revive');
      return Promise.resolve();
    },
    suppress: () => {
      calls.push('suppress');
      return suppressAnswer();
    },
  } as unknown as SchedulerDriver;
  return { driver, calls };
}

describe('OfferGate', () => {
  it('REVIVEs after a DECLINE when work arrived (a REVIVE went out) while the round was planned', async () => {
    const { driver, calls } = recordingDriver();
    const gate = new OfferGate();
    gate.attach(driver);
    const round = gate.round();
    gate.revive(); // a job submitted while the round was planned
    await flush();
    expect(calls).toEqual(['revive']);
    // The round's DECLINE was answered: its filter may have landed after that REVIVE.
    expect(gate.declined(round)).toBe(true);
    await flush();
    expect(calls).toEqual(['revive', 'revive']);
  });

  it('sends nothing after a DECLINE when no work arrived during the round', async () => {
    const { driver, calls } = recordingDriver();
    const gate = new OfferGate();
    gate.attach(driver);
    gate.revive(); // before the round: the round saw this work
    const round = gate.round();
    expect(gate.declined(round)).toBe(false);
    await gate.suppress();
    expect(calls).toEqual(['revive', 'suppress']);
  });

  it('counts a REVIVE that want() sends after SUPPRESS, not a want() while offers flow', async () => {
    const { driver, calls } = recordingDriver();
    const gate = new OfferGate();
    gate.attach(driver);
    gate.want(); // unknown state: sent
    const open = gate.round();
    gate.want(); // open: nothing sent
    expect(gate.declined(open)).toBe(false);
    await gate.suppress();
    const suppressed = gate.round();
    gate.want(); // suppressed: sent
    expect(gate.declined(suppressed)).toBe(true); // served by the REVIVE not sent yet
    await flush();
    expect(calls).toEqual(['revive', 'suppress', 'revive']);
  });

  it('does nothing before a driver is attached', () => {
    const gate = new OfferGate();
    const round = gate.round();
    gate.revive();
    expect(gate.declined(round)).toBe(false);
  });
});

describe('OfferGate call order', () => {
  it('sends a REVIVE only once the SUPPRESS before it is answered, so the master applies them in order', async () => {
    let answerSuppress: () => void = () => undefined;
    const { driver, calls } = recordingDriver(
      () =>
        new Promise<void>((resolve) => {
          answerSuppress = resolve;
        }),
    );
    const gate = new OfferGate();
    gate.attach(driver);
    const suppressed = gate.suppress();
    await Promise.resolve();
    gate.revive(); // work arrives while the SUPPRESS is in flight
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['suppress']);
    answerSuppress();
    await suppressed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['suppress', 'revive']);
    // Offers flow: a later want() sends nothing more.
    gate.want();
    expect(calls).toEqual(['suppress', 'revive']);
  });
});

describe('OfferGate calls that fail', () => {
  it('REVIVEs at the next want() after a SUPPRESS that timed out: the master may have applied it', async () => {
    // Issue 16: a SUPPRESS queued behind thousands of ACCEPTs failed at its deadline after the
    // master had applied it; the gate went back to "offers flow", and pods that waited later were
    // never REVIVEd.
    const { driver, calls } = recordingDriver(() =>
      Promise.reject(new GalaxyError('GALAXY_E_UNAVAILABLE', 'Deadline exceeded')),
    );
    const gate = new OfferGate();
    gate.attach(driver);
    gate.want(); // offers flow
    await gate.suppress(); // nothing to launch; the SUPPRESS's answer never comes
    gate.want(); // a pod waits again
    await flush();
    expect(calls).toEqual(['revive', 'suppress', 'revive']);
  });

  it('sends SUPPRESS again after a REVIVE that failed, and REVIVE again at the next want()', async () => {
    let failRevive = true;
    const calls: string[] = [];
    const driver = {
      revive: () => {
        calls.push('revive');
        return failRevive
          ? Promise.reject(new GalaxyError('GALAXY_E_UNAVAILABLE', 'Deadline exceeded'))
          : Promise.resolve();
      },
      suppress: () => {
        calls.push('suppress');
        return Promise.resolve();
      },
    } as unknown as SchedulerDriver;
    const gate = new OfferGate();
    gate.attach(driver);
    await gate.suppress();
    gate.want(); // fails: whether offers flow is unknown
    await flush();
    failRevive = false;
    gate.want();
    await flush();
    gate.want(); // now known to flow: nothing sent
    await flush();
    expect(calls).toEqual(['suppress', 'revive', 'revive']);
  });
});

describe('OfferGate REVIVE coalescing', () => {
  it('sends one REVIVE for all those asked for while the one before it is unanswered', async () => {
    const calls: string[] = [];
    let answer: () => void = () => undefined;
    const driver = {
      revive: () => {
        calls.push('revive');
        return new Promise<void>((resolve) => {
          answer = resolve;
        });
      },
    } as unknown as SchedulerDriver;
    const gate = new OfferGate();
    gate.attach(driver);
    gate.revive();
    await flush();
    expect(calls).toEqual(['revive']);
    const round = gate.round();
    for (let job = 0; job < 57; job += 1) gate.revive(); // a burst of submitted jobs
    // Every REVIVE is answered from now on, as soon as it comes.
    for (let turn = 0; turn < 100; turn += 1) {
      answer();
      await flush();
    }
    expect(calls).toEqual(['revive', 'revive']);
    // The round still knows that work arrived while it was planned.
    expect(gate.declined(round)).toBe(true);
    for (let turn = 0; turn < 10; turn += 1) {
      answer();
      await flush();
    }
    expect(calls).toEqual(['revive', 'revive', 'revive']);
  });

  it('does not merge a REVIVE into one queued before a SUPPRESS', async () => {
    const calls: string[] = [];
    let answer: () => void = () => undefined;
    const driver = {
      revive: () => {
        calls.push('revive');
        return new Promise<void>((resolve) => {
          answer = resolve;
        });
      },
      suppress: () => {
        calls.push('suppress');
        return Promise.resolve();
      },
    } as unknown as SchedulerDriver;
    const gate = new OfferGate();
    gate.attach(driver);
    gate.revive(); // in flight
    await flush();
    gate.revive(); // queued
    const suppressed = gate.suppress(); // queued after it
    gate.revive(); // must go after the SUPPRESS
    answer();
    await flush();
    answer();
    await suppressed;
    await flush();
    expect(calls).toEqual(['revive', 'revive', 'suppress', 'revive']);
  });
});
