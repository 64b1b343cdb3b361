import { assert } from '../base/assert.js';
import type { ByteString } from '../storage/backend/bytes.js';

/**
 * A revision is {main, sub}: `main` is the store revision of a write (one per write
 * request), `sub` orders the changes inside it. In the backend's `key` bucket a revision is
 * the key: 8-byte big-endian main, '_', 8-byte big-endian sub, plus 't' for a tombstone
 * (a delete), so byte order is revision order.
 */
export interface Revision {
  readonly main: number;
  readonly sub: number;
}

export const REV_KEY_BYTES = 17;

export function assertRevision(value: number, what = 'revision'): void {
  assert(Number.isSafeInteger(value) && value >= 0, () => `${what} must be a non-negative safe integer, got ${value}`);
}

export function compareRevisions(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

function u64(value: number): string {
  const hi = Math.floor(value / 0x1_0000_0000);
  const lo = value >>> 0;
  return String.fromCharCode(
    (hi >>> 24) & 0xff, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff,
    (lo >>> 24) & 0xff, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff,
  );
}

function readU64(text: string, at: number): number {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 4; i += 1) hi = hi * 256 + text.charCodeAt(at + i);
  for (let i = 4; i < 8; i += 1) lo = lo * 256 + text.charCodeAt(at + i);
  return hi * 0x1_0000_0000 + lo;
}

export function revKey(main: number, sub: number, tombstone = false): ByteString {
  assertRevision(main, 'main revision');
  assertRevision(sub, 'sub revision');
  return u64(main) + '_' + u64(sub) + (tombstone ? 't' : '');
}

/** The smallest key of revision `main` (for range scans by main revision). */
export function revKeyStart(main: number): ByteString {
  return revKey(main, 0);
}

export function parseRevKey(key: ByteString): { main: number; sub: number; tombstone: boolean } {
  assert(key.length === REV_KEY_BYTES || (key.length === REV_KEY_BYTES + 1 && key[REV_KEY_BYTES] === 't'), 'malformed revision key');
  return { main: readU64(key, 0), sub: readU64(key, 9), tombstone: key.length === REV_KEY_BYTES + 1 };
}
