/**
 * `npm run bench -- mvcc [--keys N]`: in-process MVCC throughput and memory, per engine.
 * For each engine (each in its own child process, so heaps do not mix) it loads N keys
 * (default 1,000,000; 16-byte keys, 32-byte values, random order) through the applier one
 * put per raft entry, then measures single-key ranges, overwriting puts and
 * compare-and-put txns on random existing keys, and reports resident memory (RSS) and JS
 * heap per key after a full GC, and the restart cost: lmdb reopens its directory, memory
 * writes its snapshot stream and restores it into a fresh backend; both then rebuild the
 * key index (HashKV must match). lmdb commits every 10,000 writes (its default) and once at
 * the end of each phase; its RSS includes the touched pages of the memory map.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_LOADER_ARGS } from './support/runtime.js';
import { SeededRandom } from '../src/base/random.js';
import { MvccStore } from '../src/mvcc/kv-store.js';
import type { Backend } from '../src/storage/backend/backend.js';
import { LmdbBackend } from '../src/storage/backend/lmdb-backend.js';
import { MemoryBackend } from '../src/storage/backend/memory-backend.js';
import { restoreSnapshot, writeSnapshot } from '../src/storage/backend/snapshot.js';

const argValue = (name: string): string | undefined => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg?.slice(name.length + 3);
};
const keyCount = Number(argValue('keys') ?? 1_000_000);
const engine = argValue('engine');

interface Result {
  engine: string;
  keys: number;
  loadPutsPerSec: number;
  putsPerSec: number;
  rangesPerSec: number;
  txnsPerSec: number;
  rssBytesPerKey: number;
  heapBytesPerKey: number;
  rssMiB: number;
  restartSeconds: number;
  snapshotMiB: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function measure(): { rss: number; heap: number } {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: usage.heapUsed + usage.external + usage.arrayBuffers };
}

function runOne(name: string): Result {
  const dir = name === 'lmdb' ? mkdtempSync(join(tmpdir(), 'conclave-bench-')) : undefined;
  const backend: Backend = dir === undefined ? new MemoryBackend() : new LmdbBackend({ path: dir });
  const store = MvccStore.open(backend);
  const random = new SeededRandom(1);
  const keyOf = (i: number): Uint8Array => Buffer.from(`key-${i.toString().padStart(12, '0')}`);
  const value = Buffer.alloc(32, 0x61);
  const order = Array.from({ length: keyCount }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let index = 0;
  const apply = (request: Parameters<MvccStore['apply']>[1]): void => {
    index += 1;
    const result = store.apply({ index, term: 1 }, request);
    if (result.kind !== 'ok') throw new Error(`apply failed: ${result.kind}`);
  };
  const rate = (count: number, startMs: number): number => Math.round(count / ((performance.now() - startMs) / 1000));

  const before = measure();
  let start = performance.now();
  for (const i of order) apply({ put: { key: keyOf(i), value } });
  backend.flush();
  const loadPutsPerSec = rate(keyCount, start);
  const after = measure();

  const ops = Math.min(200_000, keyCount);
  const randomKeys = Array.from({ length: ops }, () => keyOf(random.int(keyCount)));
  start = performance.now();
  for (const key of randomKeys) {
    if (store.range({ key }).kvs.length !== 1) throw new Error('missing key');
  }
  const rangesPerSec = rate(ops, start);

  start = performance.now();
  for (const key of randomKeys) apply({ put: { key, value } });
  backend.flush();
  const putsPerSec = rate(ops, start);

  start = performance.now();
  for (const key of randomKeys) {
    apply({ txn: { compare: [{ key, target: 'value', result: 'equal', value }], success: [{ put: { key, value } }], failure: [{ range: { key } }] } });
  }
  backend.flush();
  const txnsPerSec = rate(ops, start);

  const hash = store.hashKv().hash;
  // Restart: lmdb reopens its directory; memory writes its snapshot stream and restores it
  // into a fresh backend (the old contents are released on close, outside the timing).
  let reopened: MvccStore;
  let snapshotBytes = 0;
  let restartMs: number;
  if (backend instanceof LmdbBackend) {
    backend.close();
    start = performance.now();
    reopened = MvccStore.open(new LmdbBackend({ path: backend.path }));
    restartMs = performance.now() - start;
  } else {
    start = performance.now();
    const chunks = [...writeSnapshot(backend)];
    restartMs = performance.now() - start;
    snapshotBytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    backend.close();
    gc();
    start = performance.now();
    const fresh = new MemoryBackend();
    restoreSnapshot(fresh, chunks);
    reopened = MvccStore.open(fresh);
    restartMs += performance.now() - start;
  }
  const restartSeconds = restartMs / 1000;
  if (reopened.hashKv().hash !== hash) throw new Error('state changed across the restart');
  reopened.backend.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  return {
    engine: name,
    keys: keyCount,
    loadPutsPerSec,
    putsPerSec,
    rangesPerSec,
    txnsPerSec,
    rssBytesPerKey: Math.round((after.rss - before.rss) / keyCount),
    heapBytesPerKey: Math.round((after.heap - before.heap) / keyCount),
    rssMiB: Math.round(after.rss / 2 ** 20),
    restartSeconds: Math.round(restartSeconds * 10) / 10,
    snapshotMiB: Math.round(snapshotBytes / 2 ** 20),
  };
}

if (engine !== undefined) {
  console.log(JSON.stringify(runOne(engine)));
} else {
  const self = fileURLToPath(import.meta.url);
  const results: Result[] = [];
  for (const name of ['memory', 'lmdb']) {
    const child = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', ...NODE_LOADER_ARGS, self, `--engine=${name}`, `--keys=${keyCount}`], { encoding: 'utf8' });
    if (child.status !== 0) {
      console.error(child.stderr);
      process.exit(1);
    }
    results.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as Result);
  }
  console.log(`MVCC in-process, ${keyCount.toLocaleString('en-US')} keys (16-byte keys, 32-byte values), one put per raft entry, ${process.version}`);
  console.log('| engine | load put/s | put/s | range/s | txn/s | RSS bytes/key | heap bytes/key | RSS MiB | restart s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(`| ${r.engine} | ${r.loadPutsPerSec.toLocaleString('en-US')} | ${r.putsPerSec.toLocaleString('en-US')} | ${r.rangesPerSec.toLocaleString('en-US')} | ${r.txnsPerSec.toLocaleString('en-US')} | ${r.rssBytesPerKey} | ${r.heapBytesPerKey} | ${r.rssMiB} | ${r.restartSeconds}${r.snapshotMiB > 0 ? ` (snapshot ${r.snapshotMiB} MiB)` : ''} |`);
  }
}
