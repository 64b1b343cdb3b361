// Test helper: the two backend engines behind one factory, so every suite that takes a
// Backend runs on both. lmdb environments live in fresh temporary directories, removed by
// `cleanup()`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../../src/storage/backend/backend.js';
import { LmdbBackend } from '../../../src/storage/backend/lmdb-backend.js';
import { MemoryBackend } from '../../../src/storage/backend/memory-backend.js';

export interface EngineFixture {
  readonly name: 'memory' | 'lmdb';
  /** A new, empty backend (`batchOps` applies to lmdb only). */
  create(options?: { batchOps?: number }): Backend;
  /** Reopens the same durable state for engines that have it (lmdb); undefined for memory. */
  reopen?: (backend: Backend) => Backend;
}

const dirs: string[] = [];

export const engines: EngineFixture[] = [
  { name: 'memory', create: () => new MemoryBackend() },
  {
    name: 'lmdb',
    create: (options?: { batchOps?: number }) => {
      const dir = mkdtempSync(join(tmpdir(), 'conclave-lmdb-'));
      dirs.push(dir);
      const backend = new LmdbBackend({ path: dir, ...options });
      return backend;
    },
    reopen: (backend) => {
      if (!(backend instanceof LmdbBackend)) throw new Error('not an lmdb backend');
      backend.close();
      return new LmdbBackend({ path: backend.path });
    },
  },
];

export function cleanup(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
