/**
 * `npm run bench -- wal [--seconds=N] [--payload-bytes=N]`: WAL append throughput with 1, 8 and
 * 64 concurrent writers (each awaits its append, then appends again: every append is
 * acknowledged only after fdatasync), next to the raw rate of write+fdatasync on the same
 * disk, measured in the same run. The ratio column is WAL appends/s over raw fdatasyncs/s:
 * above 1 means group commit acknowledges more than one append per physical sync.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/raft/types.js';
import { NodeFileSystem } from '../src/storage/node-file-system.js';
import { resolveStorageOptions } from '../src/storage/options.js';
import { Wal } from '../src/storage/wal.js';

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.split('=')[1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const seconds = flag('seconds', 2);
const payloadBytes = flag('payload-bytes', 256);
const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'conclave-wal-bench-'));

async function rawFdatasyncRate(): Promise<{ perSecond: number; bytesPerSecond: number }> {
  const handle = await open(join(root, 'raw'), 'w+');
  const chunk = new Uint8Array(64 * 1024);
  for (let at = 0; at < 64 * 1024 * 1024; at += chunk.length) await handle.write(chunk, 0, chunk.length, at);
  await handle.sync();
  const record = new Uint8Array(payloadBytes + 40).fill(7);
  let offset = 0;
  let count = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    await handle.write(record, 0, record.length, offset);
    await handle.datasync();
    offset += record.length;
    count += 1;
  }
  const elapsed = (performance.now() - start) / 1000;
  await handle.close();
  return { perSecond: count / elapsed, bytesPerSecond: offset / elapsed };
}

async function walRate(writers: number): Promise<{ appendsPerSecond: number; bytesPerSecond: number; fsyncsPerSecond: number }> {
  const dir = join(root, `wal-${writers}`);
  const fs = new NodeFileSystem();
  await fs.mkdirp(dir);
  const { wal } = await Wal.open(fs, dir, resolveStorageOptions({}));
  const data = new Uint8Array(payloadBytes).fill(1);
  let nextIndex = 1;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < end) {
        const entry: Entry = { term: 1, index: nextIndex++, type: 'normal', data };
        await wal.append({ entries: [entry] });
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const { appends, bytes, fsyncs } = wal.stats;
  await wal.close();
  return { appendsPerSecond: appends / elapsed, bytesPerSecond: bytes / elapsed, fsyncsPerSecond: fsyncs / elapsed };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (n: number) => (n / 1024 / 1024).toFixed(2);

try {
  const raw = await rawFdatasyncRate();
  console.log(`disk: ${root} | ${seconds}s per row | entry payload ${payloadBytes} bytes`);
  console.log('');
  console.log('| writers | appends/s | MiB/s | fdatasyncs/s | appends per fdatasync | raw fdatasync/s | appends/s ÷ raw |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(`| raw write+fdatasync | ${fmt(raw.perSecond)} | ${mb(raw.bytesPerSecond)} | ${fmt(raw.perSecond)} | 1.00 | ${fmt(raw.perSecond)} | 1.00 |`);
  for (const writers of [1, 8, 64]) {
    const r = await walRate(writers);
    console.log(
      `| ${writers} | ${fmt(r.appendsPerSecond)} | ${mb(r.bytesPerSecond)} | ${fmt(r.fsyncsPerSecond)} | ${(r.appendsPerSecond / r.fsyncsPerSecond).toFixed(2)} | ${fmt(raw.perSecond)} | ${(r.appendsPerSecond / raw.perSecond).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
