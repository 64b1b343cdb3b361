// Shared by the restart and crash tests: a seeded random workload as raft entries, a way to
// apply it, and a fingerprint of everything observable about a store's state.
import { SeededRandom } from '../../src/base/random.js';
import type { MvccStore, WriteRequest } from '../../src/mvcc/kv-store.js';
import { b, kvText } from './helpers.js';

/** A random workload as raft entries; compactions target a revision estimated from the puts so far. */
export function workload(seed: number, length: number): WriteRequest[] {
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

export function applyAll(store: MvccStore, entries: WriteRequest[], from = 1): void {
  entries.forEach((request, i) => store.apply({ index: from + i, term: 1 + Math.floor((from + i) / 50) }, request));
}

export function fingerprint(store: MvccStore): unknown {
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
