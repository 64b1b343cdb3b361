import { expect } from 'vitest';
import type { Entry } from '../../../src/raft/types.js';
import { EMPTY_HARD_STATE } from '../../../src/raft/types.js';
import { DiskStorage } from '../../../src/storage/disk-storage.js';
import type { SimFileSystem } from '../../../src/storage/sim-file-system.js';
import { attemptedEntries, modelOf, WORKLOAD_OPTIONS } from './crash-workload.js';
import type { WorkloadOp } from './crash-workload.js';
import { makeEntry } from './entries.js';

/**
 * The recovery check shared by the crash tests: after a crash that interrupted `ops[acknowledged]`,
 * reopening must show every acknowledged entry, hard state and snapshot, nothing never written,
 * and must take (and keep across another power loss) one more write.
 */
export function sameEntry(a: Entry, b: Entry): boolean {
  return a.index === b.index && a.term === b.term && a.type === b.type && Buffer.from(a.data).equals(Buffer.from(b.data));
}

export async function checkRecovery(fs: SimFileSystem, ops: readonly WorkloadOp[], acknowledged: number, label: string): Promise<void> {
  const storage = await DiskStorage.open(fs, '/data', { ...WORKLOAD_OPTIONS, onFatal: () => undefined });
  const acked = modelOf(ops, acknowledged);
  const inFlight = ops[acknowledged];
  const attempted = attemptedEntries(ops);
  const snapshotIndex = storage.recovery.snapshotIndex;

  // Snapshots: never older than the last acknowledged one, and always one that was made.
  expect(snapshotIndex, label).toBeGreaterThanOrEqual(acked.snapshotIndex);
  if (snapshotIndex > acked.snapshotIndex) {
    const made = inFlight?.kind === 'snapshot' ? inFlight.index : inFlight?.kind === 'install' ? inFlight.snapshot.metadata.index : -1;
    expect(snapshotIndex, label).toBe(made);
  } else if (snapshotIndex > 0) {
    expect(Buffer.from(storage.snapshot().data).equals(Buffer.from(acked.snapshotData)), label).toBe(true);
  }

  // Every acknowledged entry above the snapshot is there. The one exception is an overwrite in
  // flight (a new leader replacing an uncommitted suffix): a torn prefix of it may have
  // landed, which truncates the suffix from its first index, as Raft itself would have done.
  const overwriteFrom = inFlight?.kind === 'save' && acked.log.has(inFlight.entries[0]!.index) ? inFlight.entries[0]!.index : Infinity;
  for (const [index, entry] of acked.log) {
    if (index <= snapshotIndex) continue;
    if (index >= overwriteFrom) {
      if (index > storage.lastIndex()) continue;
      const got = storage.entries(index, index + 1, Infinity)[0]!;
      const fromInFlight = inFlight?.kind === 'save' && inFlight.entries.some((e) => sameEntry(e, got));
      expect(sameEntry(got, entry) || fromInFlight, `${label}: entry ${index}`).toBe(true);
      continue;
    }
    expect(storage.lastIndex(), `${label}: acknowledged entry ${index} lost`).toBeGreaterThanOrEqual(index);
    expect(sameEntry(storage.entries(index, index + 1, Infinity)[0]!, entry), `${label}: entry ${index}`).toBe(true);
  }
  // Nothing that was never written.
  for (let index = storage.firstIndex(); index <= storage.lastIndex(); index++) {
    const got = storage.entries(index, index + 1, Infinity)[0]!;
    const written = attempted.get(`${got.index}/${got.term}`);
    expect(written !== undefined && sameEntry(written, got), `${label}: phantom entry ${index}`).toBe(true);
  }
  // The hard state never goes back: the acknowledged one, or the one in flight.
  const hardState = storage.initialState().hardState;
  const ackedHardState = acked.hardStateOp >= 0 ? (ops[acked.hardStateOp] as { hardState: typeof hardState }).hardState : EMPTY_HARD_STATE;
  const inFlightHardState = inFlight !== undefined && inFlight.kind !== 'snapshot' ? inFlight.hardState : undefined;
  expect([ackedHardState, inFlightHardState].filter((s) => s !== undefined), label).toContainEqual(hardState);

  // The recovered storage takes a further write that survives another power loss.
  const next = makeEntry(storage.lastIndex() + 1, Math.max(hardState.term, storage.term(storage.lastIndex()), 1) + 1);
  await storage.save({ entries: [next], hardState: { ...hardState, term: next.term } });
  fs.crashNow();
  fs.reboot();
  const again = await DiskStorage.open(fs, '/data', { ...WORKLOAD_OPTIONS, onFatal: () => undefined });
  expect(sameEntry(again.entries(next.index, next.index + 1, Infinity)[0]!, next), `${label}: write after recovery`).toBe(true);
  await again.close();
}

