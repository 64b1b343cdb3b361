import { assert } from '../base/assert.js';
import type { ByteString } from '../storage/backend/bytes.js';
import { revKey } from './revision.js';

/**
 * One life of a key: from its creation to its deletion. `revs` holds the revisions of its
 * changes as flat [main, sub] pairs, oldest first; in a closed generation the last pair is
 * the tombstone (the delete). `version` counts the puts of the generation, so the version
 * at the i-th (0-based) of n remaining revisions is version - (n - 1 - i), which stays
 * right after compaction trims the oldest pairs.
 */
interface Generation {
  createdMain: number;
  version: number;
  revs: number[];
}

/** What a key looked like at some revision. */
export interface KeyAt {
  readonly modMain: number;
  readonly modSub: number;
  readonly createRevision: number;
  readonly version: number;
}

const emptyGeneration = (): Generation => ({ createdMain: 0, version: 0, revs: [] });

/**
 * The history of one key as a list of generations (modelled on etcd's keyIndex): a put
 * appends to the open (last) generation, a delete appends the tombstone and opens a new
 * empty generation. Compaction at revision R keeps, per key, the newest revision <= R unless
 * that is a tombstone, and drops everything older.
 */
export class KeyIndex {
  private modMain = 0;
  private modSub = 0;
  private generations: Generation[] = [emptyGeneration()];

  constructor(readonly key: ByteString) {}

  /** The revision of the latest change (put or delete). */
  get modified(): { main: number; sub: number } {
    return { main: this.modMain, sub: this.modSub };
  }

  /** The state of the key now, or undefined if it does not exist. */
  latest(): KeyAt | undefined {
    const g = this.generations[this.generations.length - 1]!;
    const n = g.revs.length;
    if (n === 0) return undefined;
    return { modMain: g.revs[n - 2]!, modSub: g.revs[n - 1]!, createRevision: g.createdMain, version: g.version };
  }

  put(main: number, sub: number): void {
    this.advance(main, sub);
    const g = this.generations[this.generations.length - 1]!;
    if (g.revs.length === 0) {
      g.createdMain = main;
      g.revs = [main, sub]; // an exact-size literal: push on [] would reserve ~17 slots
    } else g.revs.push(main, sub);
    g.version += 1;
  }

  /**
   * Rebuilds from a stored record whose create revision and version are known (history
   * before it may have been compacted away).
   */
  restorePut(main: number, sub: number, createRevision: number, version: number): void {
    this.advance(main, sub);
    const g = this.generations[this.generations.length - 1]!;
    if (g.revs.length === 0) {
      g.createdMain = createRevision;
      g.revs = [main, sub];
    } else g.revs.push(main, sub);
    g.version = version;
  }

  /** Deletes the key at (main, sub); the key must exist. */
  tombstone(main: number, sub: number): void {
    assert(this.latest() !== undefined, 'tombstone of a key that does not exist');
    this.put(main, sub);
    this.generations.push(emptyGeneration());
  }

  /** The key as of revision `atRev`, or undefined if it did not exist then. */
  get(atRev: number): KeyAt | undefined {
    for (let gi = this.generations.length - 1; gi >= 0; gi -= 1) {
      const g = this.generations[gi]!;
      const n = g.revs.length;
      if (n === 0 || g.revs[0]! > atRev) continue;
      // A closed generation whose tombstone is at or before atRev: deleted at atRev.
      if (gi < this.generations.length - 1 && g.revs[n - 2]! <= atRev) return undefined;
      for (let i = n - 2; i >= 0; i -= 2) {
        if (g.revs[i]! <= atRev) {
          return { modMain: g.revs[i]!, modSub: g.revs[i + 1]!, createRevision: g.createdMain, version: g.version - (n - 2 - i) / 2 };
        }
      }
    }
    return undefined;
  }

  /**
   * Compacts at `atRev`: drops every revision older than the newest one <= atRev of the
   * generation that is live at atRev (and whole older generations), and drops that one too
   * if it is a tombstone. Adds the revision keys that must stay in the backend to `keep`.
   * Returns true when nothing is left, i.e. the key index itself can go.
   */
  compact(atRev: number, keep: Set<ByteString>): boolean {
    let gi = 0;
    // Skip generations whose tombstone is at or before atRev (the last one has none).
    while (gi < this.generations.length - 1) {
      const g = this.generations[gi]!;
      if (g.revs[g.revs.length - 2]! > atRev) break;
      gi += 1;
    }
    const g = this.generations[gi]!;
    if (g.revs.length > 0) {
      let kept = -1;
      for (let i = g.revs.length - 2; i >= 0; i -= 2) {
        if (g.revs[i]! <= atRev) {
          kept = i;
          break;
        }
      }
      if (kept >= 0) {
        g.revs = g.revs.slice(kept);
        const isTombstone = g.revs.length === 2 && gi !== this.generations.length - 1;
        if (isTombstone) gi += 1;
        else keep.add(revKey(g.revs[0]!, g.revs[1]!));
      }
    }
    this.generations = this.generations.slice(gi);
    return this.isEmpty();
  }

  isEmpty(): boolean {
    return this.generations.length === 1 && this.generations[0]!.revs.length === 0;
  }

  /** A stable text form for golden tests, e.g. `modified=4.0 gens=[{created=2 ver=2 revs=[2.0 4.0t]} {empty}]`. */
  describe(): string {
    const gens = this.generations.map((g, gi) => {
      if (g.revs.length === 0) return '{empty}';
      const revs: string[] = [];
      for (let i = 0; i < g.revs.length; i += 2) {
        const tomb = gi < this.generations.length - 1 && i === g.revs.length - 2;
        revs.push(`${g.revs[i]}.${g.revs[i + 1]}${tomb ? 't' : ''}`);
      }
      return `{created=${g.createdMain} ver=${g.version} revs=[${revs.join(' ')}]}`;
    });
    return `modified=${this.modMain}.${this.modSub} gens=[${gens.join(' ')}]`;
  }

  private advance(main: number, sub: number): void {
    assert(main > this.modMain || (main === this.modMain && sub > this.modSub) || (this.modMain === 0 && main > 0),
      () => `revision ${main}.${sub} is not after ${this.modMain}.${this.modSub}`);
    this.modMain = main;
    this.modSub = sub;
  }
}
