import { assert } from '../base/assert.js';
import type { ByteString } from '../storage/backend/bytes.js';
import { revKey } from './revision.js';

/** What a key looked like at some revision. */
export interface KeyAt {
  readonly modMain: number;
  readonly modSub: number;
  readonly createRevision: number;
  readonly version: number;
}

// Layout of KeyIndex.data, one flat number array (a million keys are a million of these, so
// there are no per-generation objects): generations one after another, each
//   [createRevision, version, count, main0, sub0, main1, sub1, ...]   (count revision pairs)
// `version` counts the puts of the generation, so the version at the i-th (0-based) of n
// remaining pairs is version - (n - 1 - i), which stays right after compaction trims the
// oldest pairs. The last generation is the open one (count 0 after a delete); in every
// other generation the last pair is the tombstone that closed it.
const CREATED = 0;
const VERSION = 1;
const COUNT = 2;
const HEADER = 3;

/**
 * The history of one key as a list of generations (modelled on etcd's keyIndex): a put
 * appends to the open (last) generation, a delete appends the tombstone and opens a new
 * empty generation. Compaction at revision R keeps, per key, the newest revision <= R unless
 * that is a tombstone, and drops everything older.
 */
export class KeyIndex {
  private data: number[] = [0, 0, 0];
  /** Offset of the open generation in `data`. */
  private open = 0;

  constructor(readonly key: ByteString) {}

  /** The state of the key now, or undefined if it does not exist. */
  latest(): KeyAt | undefined {
    const d = this.data;
    const g = this.open;
    const n = d[g + COUNT]!;
    if (n === 0) return undefined;
    const at = g + HEADER + 2 * (n - 1);
    return { modMain: d[at]!, modSub: d[at + 1]!, createRevision: d[g + CREATED]!, version: d[g + VERSION]! };
  }

  put(main: number, sub: number): void {
    this.append(main, sub, main, -1);
  }

  /**
   * Rebuilds from a stored record whose create revision and version are known (history
   * before it may have been compacted away).
   */
  restorePut(main: number, sub: number, createRevision: number, version: number): void {
    this.append(main, sub, createRevision, version);
  }

  /** Deletes the key at (main, sub); the key must exist. */
  tombstone(main: number, sub: number): void {
    assert(this.latest() !== undefined, 'tombstone of a key that does not exist');
    this.put(main, sub);
    this.open = this.data.length;
    this.data.push(0, 0, 0);
  }

  /** The key as of revision `atRev`, or undefined if it did not exist then. */
  get(atRev: number): KeyAt | undefined {
    const d = this.data;
    const open = this.open;
    const openCount = d[open + COUNT]!;
    // Reads near the head (the common case: every read at the current revision) are answered
    // without walking the generations, which a key put and deleted in a loop (a lock key, a
    // lease-bound key) piles up until the next compaction. Revisions grow from one generation
    // to the next, so: the open generation started at or before atRev is the one to read...
    if (openCount > 0 && d[open + HEADER]! <= atRev) return this.readBack(open, open + HEADER + 2 * (openCount - 1), atRev);
    // ...and otherwise, a closed generation whose tombstone (the pair just before the open
    // generation) is at or before atRev means the key did not exist at atRev.
    if (open > 0 && d[open - 2]! <= atRev) return undefined;
    // The last generation whose first revision is <= atRev.
    let found = -1;
    for (let g = 0; g < d.length; g += HEADER + 2 * d[g + COUNT]!) {
      if (d[g + COUNT]! > 0 && d[g + HEADER]! <= atRev) found = g;
    }
    if (found < 0) return undefined;
    const n = d[found + COUNT]!;
    const last = found + HEADER + 2 * (n - 1);
    // A closed generation whose tombstone is at or before atRev: deleted at atRev.
    if (found !== this.open && d[last]! <= atRev) return undefined;
    return this.readBack(found, last, atRev);
  }

  /** The newest revision <= atRev of the generation at `g`, walking back from its pair at `last`. */
  private readBack(g: number, last: number, atRev: number): KeyAt | undefined {
    const d = this.data;
    for (let at = last, back = 0; at >= g + HEADER; at -= 2, back += 1) {
      if (d[at]! <= atRev) return { modMain: d[at]!, modSub: d[at + 1]!, createRevision: d[g + CREATED]!, version: d[g + VERSION]! - back };
    }
    return undefined;
  }

  /**
   * Compacts at `atRev`: drops whole generations deleted at or before atRev, and every
   * revision older than the newest one <= atRev of the generation live at atRev. Adds the
   * revision keys that must stay in the backend to `keep`.
   * Returns true when nothing is left, i.e. the key index itself can go.
   */
  compact(atRev: number, keep: Set<ByteString>): boolean {
    const d = this.data;
    let g = 0;
    // Skip generations whose tombstone is at or before atRev (the open one has none).
    while (g !== this.open) {
      const n = d[g + COUNT]!;
      if (d[g + HEADER + 2 * (n - 1)]! > atRev) break;
      g += HEADER + 2 * n;
    }
    const header = [d[g + CREATED]!, d[g + VERSION]!];
    let revs = d.slice(g + HEADER, g + HEADER + 2 * d[g + COUNT]!);
    const rest = g + HEADER + revs.length;
    // Keep the newest revision <= atRev. It is never a tombstone: generations whose
    // tombstone is <= atRev were skipped above (etcd's extra tombstone check cannot fire).
    for (let i = revs.length - 2; i >= 0; i -= 2) {
      if (revs[i]! <= atRev) {
        revs = revs.slice(i);
        keep.add(revKey(revs[0]!, revs[1]!));
        break;
      }
    }
    this.data = [...header, revs.length / 2, ...revs, ...d.slice(rest)];
    this.open = this.lastGenerationOffset();
    return this.isEmpty();
  }

  isEmpty(): boolean {
    return this.data.length === HEADER && this.data[COUNT] === 0;
  }

  /**
   * A stable text form for golden tests, e.g. `modified=4.0 gens=[{created=2 ver=2
   * revs=[2.0 4.0t]} {empty}]`; `modified` is the newest stored revision ('-' when none).
   */
  describe(): string {
    const d = this.data;
    const gens: string[] = [];
    let modified = '-';
    for (let g = 0; g < d.length; g += HEADER + 2 * d[g + COUNT]!) {
      const n = d[g + COUNT]!;
      if (n === 0) {
        gens.push('{empty}');
        continue;
      }
      const revs: string[] = [];
      for (let i = 0; i < n; i += 1) {
        const tomb = g !== this.open && i === n - 1;
        revs.push(`${d[g + HEADER + 2 * i]}.${d[g + HEADER + 2 * i + 1]}${tomb ? 't' : ''}`);
      }
      modified = `${d[g + HEADER + 2 * (n - 1)]}.${d[g + HEADER + 2 * (n - 1) + 1]}`;
      gens.push(`{created=${d[g + CREATED]} ver=${d[g + VERSION]} revs=[${revs.join(' ')}]}`);
    }
    return `modified=${modified} gens=[${gens.join(' ')}]`;
  }

  private append(main: number, sub: number, createRevision: number, version: number): void {
    const d = this.data;
    const g = this.open;
    const n = d[g + COUNT]!;
    const prev = n > 0 ? g + HEADER + 2 * (n - 1) : g > 0 ? g - 2 : -1;
    assert(prev < 0 || main > d[prev]! || (main === d[prev] && sub > d[prev + 1]!), () => `revision ${main}.${sub} is not after the key's last change`);
    if (n === 0) {
      d[g + CREATED] = createRevision;
      d[g + VERSION] = version < 0 ? 1 : version;
      d[g + COUNT] = 1;
      // Exact-size literal for the common single-revision key: push would reserve ~17 slots.
      if (g === 0) this.data = [d[0]!, d[1]!, 1, main, sub];
      else d.push(main, sub);
      return;
    }
    d[g + VERSION] = version < 0 ? d[g + VERSION]! + 1 : version;
    d[g + COUNT] = n + 1;
    d.push(main, sub);
  }

  private lastGenerationOffset(): number {
    const d = this.data;
    let last = 0;
    for (let g = 0; g < d.length; g += HEADER + 2 * d[g + COUNT]!) last = g;
    return last;
  }
}
