/**
 * Call deadlines on one timer per client. Calls that use the client's default time limit reach
 * their deadlines in the order they started, so they wait in a FIFO queue and a single clock
 * timer is armed for the oldest live one: starting a call costs a push, finishing it a flag
 * (finished calls are dropped from the front as soon as they reach it). When the queue runs
 * empty the timer is left to fire once and find nothing, rather than being cancelled and
 * re-armed by every sequential call. Calls with their own limit get their own timer (see
 * unary-call.ts).
 */
import type { Clock } from '../base/index.js';

export interface Expiring {
  /** Clock time (ms) at which the call times out. */
  readonly deadlineMs: number;
  /** True once the call settled; the queue then just drops it. */
  readonly finished: boolean;
  /** Ends the call with its timeout error. */
  expire(): void;
}

export class DeadlineQueue {
  private queue: Expiring[] = [];
  private head = 0;
  private cancelTimer: (() => void) | undefined;
  private timerDueMs = Number.POSITIVE_INFINITY;

  constructor(private readonly clock: Clock) {}

  /** Calls not yet dropped (live, or finished but behind a live one). */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** Adds a call whose deadline is not earlier than that of any call added before. */
  add(call: Expiring): void {
    this.queue.push(call);
    if (this.cancelTimer === undefined || call.deadlineMs < this.timerDueMs) this.arm(call.deadlineMs);
  }

  /** Drops finished calls from the front (a call calls this when it settles). */
  trim(): void {
    const queue = this.queue;
    while (this.head < queue.length && queue[this.head]!.finished) this.head += 1;
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Stops the timer; calls still queued are left to their owners (the client is going away). */
  close(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.queue = [];
    this.head = 0;
  }

  private arm(dueMs: number): void {
    this.cancelTimer?.();
    this.timerDueMs = dueMs;
    this.cancelTimer = this.clock.setTimer(Math.max(0, dueMs - this.clock.nowMs()), () => this.onTimer());
  }

  private onTimer(): void {
    this.cancelTimer = undefined;
    this.timerDueMs = Number.POSITIVE_INFINITY;
    const now = this.clock.nowMs();
    // An expiring call trims the queue itself, which may replace the array: re-read it each time.
    while (this.head < this.queue.length) {
      const call = this.queue[this.head]!;
      if (!call.finished && call.deadlineMs > now) break;
      this.head += 1;
      if (!call.finished) call.expire();
    }
    this.trim();
    if (this.head < this.queue.length) this.arm(this.queue[this.head]!.deadlineMs);
  }
}
