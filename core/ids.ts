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

/** Where random bytes come from: `randomBytes` (a cryptographically strong source). */
export type RandomSource = (bytes: number) => Buffer;

/** Ids drawn from one call to the random source, at most: the cost of a call is paid per pool. */
export const IDS_PER_DRAW = 256;

/**
 * Ids of frameworks and offers, which name what a caller may act on: a readable prefix and
 * {@link UNGUESSABLE_BITS} random bits (hex), so that an id cannot be guessed from another one
 * (docs/security.md, "Frameworks belong to a principal").
 *
 * The bits are drawn {@link IDS_PER_DRAW} ids at a time and each byte used once, as Node's own
 * `randomUUID` caches its entropy: a master offering a cell of 3,000 agents makes 3,000 ids per
 * allocation pass, and one `randomBytes` call per id was 8 % of its CPU in a trace replay (issue 16).
 */
export class UnguessableIdGenerator {
  private pool: Buffer = Buffer.alloc(0);
  private offset = 0;

  constructor(
    private readonly prefix: string,
    private readonly random: RandomSource = randomBytes,
  ) {}

  /** A fresh id, e.g. `offer-3f9c…` (32 hex digits). */
  next(): string {
    const size = UNGUESSABLE_BITS / 8;
    if (this.offset + size > this.pool.length) {
      this.pool = this.random(size * IDS_PER_DRAW);
      this.offset = 0;
    }
    const bits = this.pool.toString('hex', this.offset, this.offset + size);
    // Used bytes are wiped: an id once handed out is not left readable in the pool.
    this.pool.fill(0, this.offset, this.offset + size);
    this.offset += size;
    return `${this.prefix}-${bits}`;
  }
}

/** A fresh random UUID, used for status update acknowledgements. */
export function newUuid(): string {
  return randomUUID();
}
