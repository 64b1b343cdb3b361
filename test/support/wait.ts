/**
 * `vi.waitFor` with generous defaults: tests wait for a state, never for a duration, and a
 * loaded CI machine (2 cores shared by every suite) must not turn a slow state into a failure.
 */
import { vi } from 'vitest';

export function waitFor<T>(check: () => T | Promise<T>, options: { timeout?: number; interval?: number } = {}): Promise<T> {
  return vi.waitFor(check, { timeout: 15_000, interval: 20, ...options });
}
