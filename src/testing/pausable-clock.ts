import type { Clock } from '../base/clock.js';

/**
 * A member's clock that can be paused: time keeps moving (so a paused member's deadlines
 * have passed when it resumes, as after a SIGSTOP), but no timer callback runs while paused.
 * A timer that comes due meanwhile is held and run on `resume()`, in the order it came due.
 * Held timers are bounded by the member's own timers: each timer is held at most once, and
 * the member schedules the next tick only from inside a callback, which is not running.
 */
export class PausableClock implements Clock {
  private paused = false;
  private held: Array<() => void> = [];

  constructor(private readonly base: Clock) {}

  get isPaused(): boolean {
    return this.paused;
  }

  nowMs(): number {
    return this.base.nowMs();
  }

  setTimer(delayMs: number, callback: () => void): () => void {
    let cancelled = false;
    const fire = (): void => {
      if (cancelled) return;
      if (this.paused) {
        this.held.push(fire);
        return;
      }
      callback();
    };
    const cancel = this.base.setTimer(delayMs, fire);
    return () => {
      cancelled = true;
      cancel();
    };
  }

  pause(): void {
    this.paused = true;
  }

  /** Resumes and runs the timers that came due while paused. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const fire of held) fire();
  }
}
