// Restart: a seeded random workload (puts, range deletes, txns, compactions, failing
// requests) is applied entry by entry; then the state is reopened (lmdb: close and open the
// same directory; memory: through the snapshot stream, the memory engine's only durability)
// and must be identical (HashKV, revisions, applied position, every key). Re-applying every
// entry already applied must change nothing, and recovering from an older snapshot plus
// replaying the whole log (the WAL) must end in the same state as never stopping.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MvccStore } from '../../src/mvcc/kv-store.js';
import { restoreSnapshot, writeSnapshot } from '../../src/storage/backend/snapshot.js';
import type { Backend } from '../../src/storage/backend/backend.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { applyAll, fingerprint, workload } from './workload.js';

afterAll(cleanup);

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
