// Crash recovery on the lmdb engine: a child process applies part of a workload and dies by
// SIGKILL with writes still uncommitted. The reopened store must be exactly the state after
// its stored applied index (never a partial entry), and replaying the whole log (the WAL)
// must then end in the same state as a store that never crashed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MvccStore } from '../../src/mvcc/kv-store.js';
import { LmdbBackend } from '../../src/storage/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/storage/backend/memory-backend.js';
import { applyAll, fingerprint, workload } from './workload.js';

const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

describe('lmdb crash recovery', () => {
  it.each([[11, 150, 97], [12, 80, 80], [13, 200, 3]])('seed %i: %i entries, killed after %i', (seed, length, stopAt) => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-crash-'));
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', child, dir, String(seed), String(length), String(stopAt)], { encoding: 'utf8' });
      expect(result.signal).toBe('SIGKILL');
      const entries = workload(seed, length);
      const recovered = MvccStore.open(new LmdbBackend({ path: dir }));
      const applied = recovered.appliedPosition.index;
      expect(applied).toBeLessThanOrEqual(stopAt);
      const reference = MvccStore.open(new MemoryBackend());
      applyAll(reference, entries.slice(0, applied));
      expect(fingerprint(recovered)).toEqual(fingerprint(reference));
      applyAll(recovered, entries); // WAL replay from the start: applied entries are skipped
      applyAll(reference, entries.slice(applied), applied + 1);
      expect(fingerprint(recovered)).toEqual(fingerprint(reference));
      recovered.backend.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
