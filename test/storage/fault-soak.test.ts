// Method: seeded random faults. For each seed the crash workload runs on a simulated disk that
// fails writes and fsyncs at random (EIO or ENOSPC, with fsyncgate semantics: a failed fsync
// forgets its dirty pages). The storage must stop at the first failure with
// ERR_STORAGE_FATAL_IO and call onFatal exactly once; the machine then loses power with a
// random plan (a random prefix of unsynced writes kept, the next one torn at a random byte) and
// the reopened storage must pass the same recovery check as the crash enumeration.
// FAULT_SOAK_SEEDS=N sets the number of seeds (default 150); a failing seed replays alone.
import { describe, expect, it } from 'vitest';
import { ConclaveError } from '../../src/base/errors.js';
import { DiskStorage } from '../../src/storage/disk-storage.js';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';
import { CONF } from './helpers/entries.js';
import { generateWorkload, WORKLOAD_OPTIONS } from './helpers/crash-workload.js';
import { checkRecovery } from './helpers/recovery-check.js';

const SEEDS = Number(process.env.FAULT_SOAK_SEEDS ?? 150);

describe('random disk faults', () => {
  it(`stops at the first failed write or fsync and loses nothing acknowledged (${SEEDS} seeds)`, { timeout: 120_000 }, async () => {
    const codes = new Map<string, number>();
    let faulted = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const ops = generateWorkload(seed, 80);
      const fs = new SimFileSystem(seed, { writeFailureProbability: 0.01, syncFailureProbability: 0.01 });
      const fatal: ConclaveError[] = [];
      let acknowledged = 0;
      let error: unknown;
      try {
        const storage = await DiskStorage.open(fs, '/data', { ...WORKLOAD_OPTIONS, onFatal: (e) => fatal.push(e) });
        for (const op of ops) {
          if (op.kind === 'save') await storage.save({ entries: op.entries, hardState: op.hardState });
          else if (op.kind === 'snapshot') await storage.createSnapshot(op.index, CONF, op.data);
          else await storage.save({ snapshot: op.snapshot, hardState: op.hardState });
          acknowledged += 1;
        }
      } catch (caught) {
        error = caught;
      }
      const label = `seed ${seed}`;
      if (error !== undefined) {
        faulted += 1;
        expect(ConclaveError.is(error) && error.code, `${label}: ${String(error)}`).toBe('ERR_STORAGE_FATAL_IO');
        // onFatal runs once, unless the failure came while opening (open itself rejects then).
        expect(fatal.length, label).toBeLessThanOrEqual(1);
        const code = String((error as ConclaveError).message.match(/\((E[A-Z]+)/)?.[1]);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      fs.setFailureProbabilities(0, 0);
      fs.crashNow(fs.randomCrashPlan());
      fs.reboot();
      await checkRecovery(fs, ops, acknowledged, label).catch((failure: unknown) => {
        throw new Error(`${label}: ${String(failure)}`, { cause: failure });
      });
    }
    console.log(`random faults: ${SEEDS} seeds, ${faulted} stopped by an injected failure ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(faulted).toBeGreaterThan(SEEDS / 2);
  });
});

