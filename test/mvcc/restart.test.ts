// Restart: a seeded random workload (puts, range deletes, txns, compactions, failing
// requests) is applied entry by entry; then the state is reopened (lmdb: close and open the
// same directory; memory: through the snapshot stream, the memory engine's only durability)
// and must be identical (HashKV, revisions, applied position, every key). Re-applying every
// entry already applied must change nothing, and recovering from an older snapshot plus
// replaying the whole log (the WAL) must end in the same state as never stopping.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';
import type { WriteRequest } from '../../src/mvcc/kv-store.js';
import { MvccStore } from '../../src/mvcc/kv-store.js';
import { restoreSnapshot, writeSnapshot } from '../../src/storage/backend/snapshot.js';
import type { Backend } from '../../src/storage/backend/backend.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { b, kvText } from './helpers.js';

afterAll(cleanup);

/** A random workload as raft entries; compactions target a revision estimated from the puts so far. */
function workload(seed: number, length: number): WriteRequest[] {
  const random = new SeededRandom(seed);
  const key = (): Uint8Array => b(['a', 'b', 'c', 'd', 'e\xff', 'f'][random.int(6)]!);
  const entries: WriteRequest[] = [];
  let writes = 1;
  for (let i = 0; i < length; i += 1) {
    const roll = random.int(10);
    if (roll < 5) {
      entries.push({ put: { key: key(), value: b(`v${i}`) } });
      writes += 1;
    } else if (roll < 7) entries.push({ deleteRange: { key: key(), rangeEnd: random.chance(0.5) ? key() : new Uint8Array(0) } });
    else if (roll < 9) {
      entries.push({ txn: { compare: [{ key: key(), target: 'version', result: 'greater', version: random.int(3) }], success: [{ put: { key: b('t1'), value: b(`s${i}`) } }, { deleteRange: { key: b('a') } }], failure: [{ put: { key: b('t2'), value: b(`f${i}`) } }] } });
      writes += 1;
    } else entries.push({ compact: { revision: Math.max(1, writes - random.int(5)) } }); // may fail: still an applied entry
  }
  return entries;
}

function applyAll(store: MvccStore, entries: WriteRequest[], from = 1): void {
  entries.forEach((request, i) => store.apply({ index: from + i, term: 1 + Math.floor((from + i) / 50) }, request));
}

function fingerprint(store: MvccStore): unknown {
  return {
    hash: store.hashKv(),
    revision: store.currentRevision,
    compacted: store.compactRevision,
    applied: store.appliedPosition,
    keys: store.range({ key: b('\0'), rangeEnd: new Uint8Array([0]) }).kvs.map(kvText),
    // The index's create revisions (used by the create-revision filters) must be rebuilt too.
    createdAtMost: Array.from({ length: store.currentRevision }, (_, i) =>
      store.range({ key: b('\0'), rangeEnd: new Uint8Array([0]), maxCreateRevision: i + 1, countOnly: false }).kvs.length),
    history: store.currentRevision > store.compactRevision
      ? store.range({ key: b('\0'), rangeEnd: new Uint8Array([0]), revision: store.compactRevision || 1 }).kvs.map(kvText)
      : [],
  };
}

describe.each(engines)('restart on $name', (engine) => {
  const reopen = (backend: Backend): Backend => {
    if (engine.reopen !== undefined) return engine.reopen(backend);
    const chunks = [...writeSnapshot(backend)];
    const fresh = engine.create();
    restoreSnapshot(fresh, chunks);
    return fresh;
  };

  it('reopens identical and ignores re-applied entries', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 120 }), (seed, length) => {
      const entries = workload(seed, length);
      const backend = engine.create({ batchOps: 16 });
      const store = MvccStore.open(backend);
      applyAll(store, entries);
      const before = fingerprint(store);
      const reopened = MvccStore.open(reopen(backend));
      expect(fingerprint(reopened)).toEqual(before);
      for (let i = 0; i < entries.length; i += 1) {
        expect(reopened.apply({ index: i + 1, term: 1 }, entries[i]!).kind).toBe('already-applied');
      }
      expect(fingerprint(reopened)).toEqual(before);
      // New entries continue exactly as on a store that never stopped.
      const more = workload(seed + 1, 20);
      applyAll(reopened, more, entries.length + 1);
      const straight = MvccStore.open(engine.create());
      applyAll(straight, [...entries, ...more]);
      expect(fingerprint(reopened)).toEqual(fingerprint(straight));
      reopened.backend.close();
      straight.backend.close();
    }), { numRuns: 25 });
  });

  it('recovers from an older snapshot by replaying the whole log, skipping what the snapshot holds', () => {
    const entries = workload(7, 200);
    const store = MvccStore.open(engine.create());
    applyAll(store, entries.slice(0, 120));
    const snapshot = [...writeSnapshot(store.backend)];
    applyAll(store, entries.slice(120), 121);
    for (const target of engines) {
      const restored = target.create();
      restoreSnapshot(restored, snapshot);
      const recovered = MvccStore.open(restored);
      expect(recovered.appliedPosition.index).toBe(120);
      applyAll(recovered, entries); // the WAL replays from its start; applied entries are skipped
      expect(fingerprint(recovered)).toEqual(fingerprint(store));
      restored.close();
    }
    store.backend.close();
  });
});
