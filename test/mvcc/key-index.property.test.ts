// KeyIndex against a naive model of one key: the list of its changes. The key's state at
// revision r is read off the newest change <= r; compaction at C must keep exactly the
// newest change <= C when that is a put (the key is alive at C), keep every later read
// unchanged, and report the index empty exactly when the key is dead at C with no later
// change. Random sequences of puts, deletes, compactions and reads, shrunk by fast-check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyIndex, type KeyAt } from '../../src/mvcc/key-index.js';
import { parseRevKey } from '../../src/mvcc/revision.js';

type Change = { main: number; sub: number; put: boolean };

function modelAt(changes: Change[], atRev: number): KeyAt | undefined {
  let index = -1;
  for (let i = 0; i < changes.length; i += 1) if (changes[i]!.main <= atRev) index = i;
  if (index < 0 || !changes[index]!.put) return undefined;
  let first = index;
  while (first > 0 && changes[first - 1]!.put) first -= 1;
  const c = changes[index]!;
  return { modMain: c.main, modSub: c.sub, createRevision: changes[first]!.main, version: index - first + 1 };
}

const stepArb = fc.array(fc.record({ kind: fc.constantFrom('put', 'put', 'del', 'compact'), gap: fc.integer({ min: 1, max: 3 }), sub: fc.nat(2) }), { minLength: 1, maxLength: 40, size: 'max' });

describe('KeyIndex against a list-of-changes model', () => {
  it('reads, compacts and empties like the model', () => {
    fc.assert(fc.property(stepArb, (steps) => {
      const ki = new KeyIndex('k');
      const changes: Change[] = [];
      let rev = 1;
      let compacted = 0;
      for (const step of steps) {
        if (step.kind === 'compact') {
          const at = compacted + step.gap;
          if (at > rev) continue;
          const keep = new Set<string>();
          const empty = ki.compact(at, keep);
          const alive = modelAt(changes, at);
          expect([...keep].map((k) => parseRevKey(k).main)).toEqual(alive === undefined ? [] : [alive.modMain]);
          expect(empty).toBe(alive === undefined && !changes.some((c) => c.main > at));
          compacted = at;
          if (empty) return; // the store drops an empty index
        } else {
          rev += step.gap;
          const alive = modelAt(changes, rev) !== undefined;
          if (step.kind === 'del' && !alive) continue;
          if (step.kind === 'put') ki.put(rev, step.sub);
          else ki.tombstone(rev, step.sub);
          changes.push({ main: rev, sub: step.sub, put: step.kind === 'put' });
        }
        for (let r = Math.max(1, compacted); r <= rev + 1; r += 1) expect(ki.get(r)).toEqual(modelAt(changes, r));
        expect(ki.latest()).toEqual(modelAt(changes, rev + 1));
      }
    }), { numRuns: 300 });
  });
});
