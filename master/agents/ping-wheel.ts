/**
 * One timer for every agent's pings (issue 16): agents are spread over the slots of a wheel that
 * turns one slot per `periodMs / slots`, so each agent is visited once per period and a tick
 * visits a slot's share of the agents, instead of 12,000 interval timers firing on their own
 * (and, started together at a failover, all in the same few milliseconds).
 */

/** Visits each member once per period, a slot at a time. */
export class TimerWheel<T> {
  private readonly slots: Set<T>[];
  private readonly slotOf = new Map<T, number>();
  private cursor = 0;
  private placed = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param periodMs how often each member is visited
   * @param visit called with each member of the slot whose turn it is
   * @param slotCount slots of the wheel: more spreads the work finer
   */
  constructor(
    private readonly periodMs: number,
    private readonly visit: (member: T) => void,
    slotCount = 10,
  ) {
    this.slots = Array.from({ length: Math.max(1, slotCount) }, () => new Set<T>());
  }

  /** Adds a member (again: no change); it is first visited within one period. */
  add(member: T): void {
    if (this.slotOf.has(member)) return;
    const slot = this.placed++ % this.slots.length;
    this.slots[slot]?.add(member);
    this.slotOf.set(member, slot);
    if (this.timer === undefined) {
      this.timer = setInterval(() => {
        this.tick();
      }, this.periodMs / this.slots.length);
      this.timer.unref();
    }
  }

  /** Removes a member; it is not visited again. */
  remove(member: T): void {
    const slot = this.slotOf.get(member);
    if (slot === undefined) return;
    this.slots[slot]?.delete(member);
    this.slotOf.delete(member);
  }

  /** Members on the wheel. */
  get size(): number {
    return this.slotOf.size;
  }

  /** Visits the members of the next slot (the timer calls it; tests may too). */
  tick(): void {
    const slot = this.slots[this.cursor];
    this.cursor = (this.cursor + 1) % this.slots.length;
    // A copy: a visit may remove its member (a disconnection).
    if (slot) for (const member of [...slot]) if (this.slotOf.has(member)) this.visit(member);
  }

  /** Stops the timer and forgets every member. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const slot of this.slots) slot.clear();
    this.slotOf.clear();
  }
}
