// A member that installs a snapshot from its leader replaces its whole store. Its watchers must
// not be dropped: each resumes from the first revision it had not received and reads it from
// the new history, in order, once — or is cancelled as compacted when that history is gone.
import { describe, expect, it } from 'vitest';
import { MvccStore, WatchableStore } from '../../src/mvcc/index.js';
import { MemoryBackend, restoreSnapshot, writeSnapshot } from '../../src/storage/backend/index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function put(store: MvccStore, index: number, key: string, value: string): void {
  const result = store.apply({ index, term: 1 }, { put: { key: enc(key), value: enc(value) } });
  expect(result.kind).toBe('ok');
}

describe('MvccStore.reload with watchers', () => {
  it('a synced watcher receives the revisions it missed from the installed history', () => {
    // The leader's history: four puts.
    const leader = MvccStore.open(new MemoryBackend());
    for (let i = 1; i <= 4; i++) put(leader, i, `k${i}`, `v${i}`);
    // This member had applied the first two, and has a watcher that saw them.
    const backend = new MemoryBackend();
    const follower = MvccStore.open(backend);
    const watchable = new WatchableStore(follower);
    const watcher = watchable.watch({ key: enc('k'), rangeEnd: enc('l'), startRevision: 1 });
    put(follower, 1, 'k1', 'v1');
    put(follower, 2, 'k2', 'v2');
    const seen: string[] = [];
    for (let r = watcher.pull(); r !== undefined; r = watcher.pull()) for (const e of r.events) seen.push(`${e.kv.modRevision}:${dec(e.kv.key)}`);
    expect(seen).toEqual(['2:k1', '3:k2']);
    // The snapshot replaces everything; the watcher resumes after revision 3.
    restoreSnapshot(backend, [...writeSnapshot(leader.backend)]);
    follower.reload();
    expect(follower.currentRevision).toBe(5);
    for (let r = watcher.pull(); r !== undefined; r = watcher.pull()) for (const e of r.events) seen.push(`${e.kv.modRevision}:${dec(e.kv.key)}`);
    expect(seen).toEqual(['2:k1', '3:k2', '4:k3', '5:k4']);
    // And it is synced again: a new write arrives live.
    put(follower, 5, 'k5', 'v5');
    const live = watcher.pull();
    expect(live?.events.map((e) => dec(e.kv.key))).toEqual(['k5']);
  });

  it('a watcher whose missing revisions were compacted away is cancelled with the compact revision', () => {
    const leader = MvccStore.open(new MemoryBackend());
    for (let i = 1; i <= 4; i++) put(leader, i, `k${i}`, `v${i}`);
    expect(leader.apply({ index: 5, term: 1 }, { compact: { revision: 4 } }).kind).toBe('ok');
    const backend = new MemoryBackend();
    const follower = MvccStore.open(backend);
    const watchable = new WatchableStore(follower);
    const watcher = watchable.watch({ key: enc('k1') });
    restoreSnapshot(backend, [...writeSnapshot(leader.backend)]);
    follower.reload();
    const response = watcher.pull();
    expect(response?.canceled).toBe(true);
    expect(response?.compactRevision).toBe(4);
  });
});
