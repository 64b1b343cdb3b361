import { assert } from '../../base/assert.js';

/** Entries per chunk before it splits in two; small enough that a splice is cheap. */
const MAX_CHUNK = 512;

interface Chunk<V> {
  keys: string[];
  values: V[];
}

/**
 * An ordered map from string keys to values: a list of sorted chunks (a flat, two-level
 * B-tree). Lookups are two binary searches; inserts and deletes splice one chunk of at most
 * 512 entries, so a million keys cost O(log n + 512) per change, and appending ever-larger
 * keys (MVCC revisions) is O(1) amortised. Keys compare with JavaScript's `<`, which for
 * byte strings (see bytes.ts) is unsigned byte order.
 *
 * Do not change the map while iterating `entries()`: collect first, then change.
 */
export class SortedMap<V> {
  private chunks: Array<Chunk<V>> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const chunk = this.chunks[this.chunkFor(key)];
    if (chunk === undefined) return undefined;
    const i = lowerBound(chunk.keys, key);
    return chunk.keys[i] === key ? chunk.values[i] : undefined;
  }

  has(key: string): boolean {
    const chunk = this.chunks[this.chunkFor(key)];
    if (chunk === undefined) return false;
    return chunk.keys[lowerBound(chunk.keys, key)] === key;
  }

  /** Sets `key` to `value`; returns the value it replaced, if any. */
  set(key: string, value: V): V | undefined {
    if (this.chunks.length === 0) {
      this.chunks.push({ keys: [key], values: [value] });
      this.count = 1;
      return undefined;
    }
    let ci = this.chunkFor(key);
    if (ci === this.chunks.length) ci -= 1; // larger than every key: append to the last chunk
    const chunk = this.chunks[ci]!;
    const keys = chunk.keys;
    // Fast path for appends (revisions only grow).
    if (keys[keys.length - 1]! < key) {
      keys.push(key);
      chunk.values.push(value);
    } else {
      const i = lowerBound(keys, key);
      if (keys[i] === key) {
        const previous = chunk.values[i];
        chunk.values[i] = value;
        return previous;
      }
      keys.splice(i, 0, key);
      chunk.values.splice(i, 0, value);
    }
    this.count += 1;
    if (keys.length > MAX_CHUNK) {
      const half = keys.length >>> 1;
      this.chunks.splice(ci + 1, 0, { keys: keys.splice(half), values: chunk.values.splice(half) });
    }
    return undefined;
  }

  /** Removes `key`; returns the value it had, if any. */
  delete(key: string): V | undefined {
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci];
    if (chunk === undefined) return undefined;
    const i = lowerBound(chunk.keys, key);
    if (chunk.keys[i] !== key) return undefined;
    chunk.keys.splice(i, 1);
    const [removed] = chunk.values.splice(i, 1);
    this.count -= 1;
    if (chunk.keys.length === 0) this.chunks.splice(ci, 1);
    return removed;
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  /** Entries with start <= key < end (end undefined: no upper bound), ascending. */
  *entries(start = '', end?: string): IterableIterator<[string, V]> {
    if (end !== undefined && end <= start) return;
    let ci = this.chunkFor(start);
    let i = ci < this.chunks.length ? lowerBound(this.chunks[ci]!.keys, start) : 0;
    for (; ci < this.chunks.length; ci += 1, i = 0) {
      const chunk = this.chunks[ci]!;
      for (; i < chunk.keys.length; i += 1) {
        const key = chunk.keys[i]!;
        if (end !== undefined && key >= end) return;
        yield [key, chunk.values[i]!];
      }
    }
  }

  /** The largest key, if any. */
  lastKey(): string | undefined {
    const chunk = this.chunks[this.chunks.length - 1];
    return chunk?.keys[chunk.keys.length - 1];
  }

  /** Index of the first chunk whose last key is >= key (chunks.length if none). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      assert(chunk.keys.length > 0, 'empty chunk in SortedMap');
      if (chunk.keys[chunk.keys.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
