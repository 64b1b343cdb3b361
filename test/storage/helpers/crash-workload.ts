import { SeededRandom } from '../../../src/base/random.js';
import type { Entry, HardState, Snapshot } from '../../../src/raft/types.js';
import { DiskStorage } from '../../../src/storage/disk-storage.js';
import type { StorageOptions } from '../../../src/storage/options.js';
import type { SimFileSystem } from '../../../src/storage/sim-file-system.js';
import { CONF, makeEntry } from './entries.js';

/**
 * A deterministic Raft-like persistence workload for crash enumeration: appends in growing
 * terms, follower log repairs (an uncommitted suffix overwritten by a newer term), snapshots
 * made from applied state, and one snapshot installed from a "leader". Generated up front from
 * a seed, so every crash run replays exactly the same calls up to its crash point.
 *
 * Overwrites always reach at least the old last index, so the last index never goes down and
 * an acknowledged entry can only disappear by being overwritten with a newer term.
 */
export type WorkloadOp =
  | { readonly kind: 'save'; readonly entries: Entry[]; readonly hardState: HardState }
  | { readonly kind: 'snapshot'; readonly index: number; readonly data: Uint8Array }
  | { readonly kind: 'install'; readonly snapshot: Snapshot; readonly hardState: HardState };

export const WORKLOAD_OPTIONS: StorageOptions = { segmentBytes: 4096, snapshotsKept: 2, catchUpEntries: 3 };

export function generateWorkload(seed: number, opCount: number): WorkloadOp[] {
  const random = new SeededRandom(seed);
  const ops: WorkloadOp[] = [];
  let last = 0;
  let term = 1;
  let commit = 0;
  let snapshotIndex = 0;
  let installed = false;
  for (let i = 0; i < opCount; i++) {
    if (!installed && i === Math.floor(opCount / 2)) {
      installed = true;
      const index = last + 10;
      term += 1;
      ops.push({ kind: 'install', snapshot: { metadata: { index, term, confState: CONF }, data: bytes(random, 40) }, hardState: { term, vote: 0n, commit: index } });
      last = index;
      commit = index;
      snapshotIndex = index;
      continue;
    }
    if (i % 15 === 14 && commit > snapshotIndex) {
      snapshotIndex = commit;
      ops.push({ kind: 'snapshot', index: commit, data: bytes(random, 20 + random.int(200)) });
      continue;
    }
    let from = last + 1;
    if (random.chance(0.15) && last > commit) {
      term += 1;
      from = commit + 1 + random.int(last - commit);
    }
    const to = Math.max(last, from + random.int(4));
    const entries: Entry[] = [];
    for (let index = from; index <= to; index++) entries.push(makeEntry(index, term, 10 + random.int(300)));
    last = to;
    commit = Math.min(last, commit + random.int(4));
    ops.push({ kind: 'save', entries, hardState: { term, vote: BigInt(1 + (term % 3)), commit } });
  }
  return ops;
}

function bytes(random: SeededRandom, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => random.int(256));
}

/** What the workload had done when the crash came: acknowledged ops and the op in flight. */
export interface WorkloadOutcome {
  readonly acknowledged: number;
  readonly error: unknown;
}

/** Runs `ops` in order against a fresh DiskStorage on `fs` until one fails (the crash). */
export async function runWorkload(fs: SimFileSystem, ops: readonly WorkloadOp[]): Promise<WorkloadOutcome> {
  let acknowledged = 0;
  try {
    const storage = await DiskStorage.open(fs, '/data', { ...WORKLOAD_OPTIONS, onFatal: () => undefined });
    for (const op of ops) {
      if (op.kind === 'save') await storage.save({ entries: op.entries, hardState: op.hardState });
      else if (op.kind === 'snapshot') await storage.createSnapshot(op.index, CONF, op.data);
      else await storage.save({ snapshot: op.snapshot, hardState: op.hardState });
      acknowledged += 1;
    }
    await storage.close();
    return { acknowledged, error: undefined };
  } catch (error) {
    return { acknowledged, error };
  }
}

/**
 * The acknowledged state after `count` ops: for each index the entry Raft was promised, the
 * newest hard state, the newest snapshot index; plus, over all `ops`, every entry and hard
 * state ever attempted (anything recovered must be one of those).
 */
export function modelOf(ops: readonly WorkloadOp[], count: number) {
  const log = new Map<number, Entry>();
  let hardStateOp = -1;
  let snapshotIndex = 0;
  let snapshotData: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < count; i++) {
    const op = ops[i]!;
    if (op.kind === 'save') {
      for (const key of [...log.keys()]) if (key >= op.entries[0]!.index) log.delete(key);
      for (const entry of op.entries) log.set(entry.index, entry);
      hardStateOp = i;
    } else if (op.kind === 'install') {
      log.clear();
      snapshotIndex = op.snapshot.metadata.index;
      snapshotData = op.snapshot.data;
      hardStateOp = i;
    } else {
      snapshotIndex = op.index;
      snapshotData = op.data;
    }
  }
  return { log, hardStateOp, snapshotIndex, snapshotData };
}

export function attemptedEntries(ops: readonly WorkloadOp[]): Map<string, Entry> {
  const all = new Map<string, Entry>();
  for (const op of ops) if (op.kind === 'save') for (const entry of op.entries) all.set(`${entry.index}/${entry.term}`, entry);
  return all;
}
