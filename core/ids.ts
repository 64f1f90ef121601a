/** Id generators: sequential ids (frameworks, agents, offers, tasks) and unguessable ones (128 random bits). */
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

/** Random bits in an unguessable id: far beyond what anyone could try against a master. */
export const UNGUESSABLE_BITS = 128;

/**
 * Ids of frameworks and offers, which name what a caller may act on: a readable prefix and
 * {@link UNGUESSABLE_BITS} random bits (hex), so that an id cannot be guessed from another one
 * (docs/security.md, "Frameworks belong to a principal").
 */
export class UnguessableIdGenerator {
  constructor(private readonly prefix: string) {}

  /** A fresh id, e.g. `offer-3f9c…` (32 hex digits). */
  next(): string {
    return `${this.prefix}-${randomBytes(UNGUESSABLE_BITS / 8).toString('hex')}`;
  }
}

/** A fresh random UUID, used for status update acknowledgements. */
export function newUuid(): string {
  return randomUUID();
}
