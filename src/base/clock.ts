/**
 * The Clock port: monotonic time for deadlines and TTLs, and timers that can be driven by a
 * fake clock in tests. Nothing in Conclave reads the wall clock to decide anything that
 * matters for safety.
 */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin; never decreases. */
  nowMs(): number;
  /** Calls `callback` once after `delayMs`; the returned function cancels it. */
  setTimer(delayMs: number, callback: () => void): () => void;
}

/** The real clock: `performance.now()` and Node's timers (unref'd, so they never hold the process open). */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, delayMs);
    handle.unref?.();
    return () => clearTimeout(handle);
  },
};

/**
 * A clock that moves only when told to. Timers fire in deadline order (ties in creation
 * order) during `advance`, each seeing `nowMs()` equal to its own deadline.
 */
export class FakeClock implements Clock {
  private currentMs: number;
  private sequence = 0;
  private readonly timers = new Map<number, { dueMs: number; callback: () => void }>();

  constructor(startMs = 0) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): () => void {
    const id = this.sequence++;
    this.timers.set(id, { dueMs: this.currentMs + Math.max(0, delayMs), callback });
    return () => this.timers.delete(id);
  }

  /** Number of timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const targetMs = this.currentMs + ms;
    for (;;) {
      let nextId = -1;
      let nextDueMs = Infinity;
      for (const [id, timer] of this.timers) {
        if (timer.dueMs <= targetMs && timer.dueMs < nextDueMs) {
          nextId = id;
          nextDueMs = timer.dueMs;
        }
      }
      if (nextId < 0) break;
      const timer = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.currentMs = Math.max(this.currentMs, timer.dueMs);
      timer.callback();
    }
    this.currentMs = targetMs;
  }
}
