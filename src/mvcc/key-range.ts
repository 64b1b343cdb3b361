import type { ByteString } from '../storage/backend/bytes.js';
import { toByteString } from '../storage/backend/bytes.js';

/**
 * etcd's range_end conventions, resolved to a half-open byte-string interval [start, end)
 * with `end` undefined meaning "no upper bound":
 *   absent/empty range_end -> the single key; [0] -> every key >= key; else [key, range_end),
 *   which is empty when range_end <= key.
 */
export interface KeyInterval {
  readonly start: ByteString;
  readonly end: ByteString | undefined;
  /** True for the single-key form. */
  readonly single: boolean;
}

export function resolveRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyInterval {
  const start = toByteString(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: start + '\0', single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: undefined, single: false };
  return { start, end: toByteString(rangeEnd), single: false };
}

export function intervalIsEmpty(interval: KeyInterval): boolean {
  return interval.end !== undefined && interval.end <= interval.start;
}

export function intervalContains(interval: KeyInterval, key: ByteString): boolean {
  return key >= interval.start && (interval.end === undefined || key < interval.end);
}

/** The range_end that selects every key with prefix `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i -= 1) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** The values of `map` whose keys fall in `interval`, ascending; a single key is one lookup. */
export function* entriesIn<V>(map: { get(key: ByteString): V | undefined; entries(start?: string, end?: string): IterableIterator<[string, V]> }, interval: KeyInterval): IterableIterator<V> {
  if (interval.single) {
    const value = map.get(interval.start);
    if (value !== undefined) yield value;
    return;
  }
  if (intervalIsEmpty(interval)) return;
  for (const [, value] of map.entries(interval.start, interval.end)) yield value;
}
