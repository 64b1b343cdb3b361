import { InvalidOptionError } from './errors.js';

/** Returns `value` after checking it is an integer within [min, max]; names the option on failure. */
export function requireInteger(option: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Returns `value` after checking it is a finite number within [min, max]. */
export function requireNumber(option: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
