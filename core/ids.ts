import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Ids of agents, frameworks and offers: a readable prefix, the creating master's start time and
 * a counter, so that ids sort by creation and never repeat across master restarts.
 */
export class IdGenerator {
  private counter = 0;
  private readonly epoch: string;

  constructor(private readonly prefix: string) {
    this.epoch = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  }

  /** The next id, e.g. `offer-lk3j9f2a1b-17`. */
  next(): string {
    this.counter += 1;
    return `${this.prefix}-${this.epoch}-${this.counter}`;
  }
}

/** A fresh random UUID, used for status update acknowledgements. */
export function newUuid(): string {
  return randomUUID();
}
