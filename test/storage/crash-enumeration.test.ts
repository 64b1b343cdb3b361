// Method: ALICE-style crash-state enumeration on the simulated disk. A seeded Raft-like
// workload (appends, term changes that overwrite an uncommitted suffix, snapshots with WAL
// release, a snapshot installed from a leader) is run once to record its trace of mutating
// file operations. It is then re-run once per (operation, crash plan), losing power exactly
// when that operation starts: plan "drop" keeps only what was fsynced; plan "tear" lets every
// unsynced write reach the disk and tears the interrupted one at a random byte (or, for
// non-writes, also keeps unsynced directory changes). After each crash the storage is reopened
// and must hold every acknowledged entry, hard state and snapshot, nothing never written, and
// must accept and persist a further write. CRASH_ENUM_SEEDS=N runs N workload seeds (default 1).
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';
import { ConclaveError } from '../../src/base/errors.js';
import type { CrashPlan, SimOp } from '../../src/storage/sim-file-system.js';
import { SimFileSystem, SimulatedCrashError } from '../../src/storage/sim-file-system.js';
import { generateWorkload, runWorkload } from './helpers/crash-workload.js';
import { checkRecovery, sameEntry } from './helpers/recovery-check.js';
import { makeEntry } from './helpers/entries.js';
import { resolveStorageOptions } from '../../src/storage/options.js';
import { Wal } from '../../src/storage/wal.js';

const SEEDS = Number(process.env.CRASH_ENUM_SEEDS ?? 1);
const OPS = 160;

type Phase = 'open' | 'append' | 'segment cut' | 'snapshot write' | 'snapshot purge' | 'segment release' | 'tail repair';

function phaseOf(trace: readonly SimOp[], i: number): Phase {
  const op = trace[i]!;
  if (op.kind === 'syncDir') return i > 0 ? phaseOf(trace, i - 1) : 'open';
  if (op.path.includes('.snap')) return op.kind === 'remove' ? 'snapshot purge' : 'snapshot write';
  if (op.path.includes('.broken')) return 'tail repair';
  if (op.path.includes('.wal.tmp')) return 'segment cut';
  if (op.path.endsWith('.wal')) return op.kind === 'remove' ? 'segment release' : 'append';
  return 'open';
}

describe('crash enumeration', () => {
  it(`recovers every acknowledged write from every crash point of the workload (${SEEDS} seed(s))`, { timeout: 170_000 }, async () => {
    const statesByPhase = new Map<Phase, number>();
    let states = 0;
    let repairs = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const ops = generateWorkload(seed, OPS);
      const reference = new SimFileSystem(seed);
      const clean = await runWorkload(reference, ops);
      expect(clean.error).toBeUndefined();
      const trace = reference.trace.slice();
      const random = new SeededRandom(seed * 7919);
      for (let i = 0; i < trace.length; i++) {
        const op = trace[i]!;
        const plans: CrashPlan[] = [{ keepPendingOps: 'none' }];
        if (op.kind === 'write' && op.bytes > 1) plans.push({ keepPendingOps: 'all', tornBytes: 1 + random.int(op.bytes - 1) });
        else plans.push({ keepPendingOps: 'all', keepDirChanges: true });
        for (const plan of plans) {
          const fs = new SimFileSystem(seed);
          fs.armCrash(op.op, plan);
          const outcome = await runWorkload(fs, ops);
          const label = `seed ${seed} crash at op ${op.op} (${op.kind} ${op.path}) plan ${JSON.stringify(plan)}`;
          expect(fs.isCrashed, label).toBe(true);
          // The workload saw the crash as a storage error, never as something else.
          const error = outcome.error;
          // (A crash while closing, after everything was acknowledged, is swallowed by close.)
          const crashSeen = error instanceof SimulatedCrashError || (ConclaveError.is(error) && error.code === 'ERR_STORAGE_FATAL_IO');
          expect(crashSeen || (error === undefined && outcome.acknowledged === ops.length), `${label}: ${String(error)}`).toBe(true);
          fs.reboot();
          await checkRecovery(fs, ops, outcome.acknowledged, label).catch((error: unknown) => {
            throw new Error(`${label}: ${String(error)}`, { cause: error });
          });
          if ((await fs.list('/data/wal')).some((name) => name.endsWith('.broken'))) repairs += 1;
          states += 1;
          const phase = phaseOf(trace, i);
          statesByPhase.set(phase, (statesByPhase.get(phase) ?? 0) + 1);
        }
      }
    }
    console.log(`crash enumeration: ${states} crash states, ${repairs} with a repaired torn tail; by phase: ${JSON.stringify(Object.fromEntries(statesByPhase))}`);
    expect(states).toBeGreaterThanOrEqual(1000);
    for (const phase of ['append', 'segment cut', 'snapshot write', 'segment release'] as const) expect(statesByPhase.get(phase) ?? 0).toBeGreaterThan(20);
    expect(repairs).toBeGreaterThan(50);
  });
});

/**
 * The same enumeration one level down, where group commit happens: rounds of 8 concurrent
 * appends to the Wal (4 KiB segments, so cuts come often, and a release every 10 rounds).
 * After each crash every acknowledged append must be replayed with its bytes, and every
 * replayed entry must be one that was appended.
 */
async function runConcurrentWal(fs: SimFileSystem, rounds: number): Promise<{ acked: Set<number>; releasedTo: number }> {
  const acked = new Set<number>();
  let releasedTo = 0;
  try {
    await fs.mkdirp('/w');
    const { wal } = await Wal.open(fs, '/w', resolveStorageOptions({ segmentBytes: 4096, onFatal: () => undefined }));
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          const index = round * 8 + i + 1;
          return wal.append({ entries: [makeEntry(index, 1, 20 + ((index * 13) % 90))] }).then(() => acked.add(index));
        }),
      );
      if (round % 10 === 9) {
        releasedTo = round * 8 - 20;
        await wal.releaseTo(releasedTo);
      }
    }
    await wal.close();
  } catch {
    // The crash: what was acknowledged before it is in `acked`.
  }
  return { acked, releasedTo };
}

describe('crash enumeration under group commit', () => {
  it('recovers every acknowledged concurrent append from every crash point', { timeout: 120_000 }, async () => {
    const ROUNDS = 100;
    const reference = new SimFileSystem(11);
    const all = await runConcurrentWal(reference, ROUNDS);
    expect(all.acked.size).toBe(ROUNDS * 8);
    const trace = reference.trace.slice();
    const random = new SeededRandom(11);
    let states = 0;
    for (const op of trace) {
      const plans: CrashPlan[] = [{ keepPendingOps: 'none' }];
      if (op.kind === 'write' && op.bytes > 1) plans.push({ keepPendingOps: 'all', tornBytes: 1 + random.int(op.bytes - 1) });
      else plans.push({ keepPendingOps: 'all', keepDirChanges: true });
      for (const plan of plans) {
        const fs = new SimFileSystem(11);
        fs.armCrash(op.op, plan);
        const { acked, releasedTo } = await runConcurrentWal(fs, ROUNDS);
        fs.reboot();
        const label = `crash at op ${op.op} (${op.kind} ${op.path}) plan ${JSON.stringify(plan)}`;
        const { replay, wal } = await Wal.open(fs, '/w', resolveStorageOptions({ segmentBytes: 4096, onFatal: () => undefined }));
        const replayed = new Map(replay.entries.map((entry) => [entry.index, entry]));
        for (const index of acked) {
          if (index <= releasedTo) continue; // may be released: a (simulated) snapshot covered it
          const entry = replayed.get(index);
          expect(entry !== undefined && sameEntry(entry, makeEntry(index, 1, 20 + ((index * 13) % 90))), `${label}: acknowledged ${index}`).toBe(true);
        }
        for (const entry of replay.entries) expect(sameEntry(entry, makeEntry(entry.index, 1, entry.data.length)), `${label}: phantom`).toBe(true);
        await wal.close();
        states += 1;
      }
    }
    console.log(`crash enumeration under group commit: ${states} crash states over ${trace.length} operations`);
    expect(states).toBeGreaterThan(500);
  });
});
