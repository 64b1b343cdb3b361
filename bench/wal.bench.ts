/**
 * `npm run bench -- wal [--seconds=N] [--rounds=N] [--payload-bytes=N]`: WAL append throughput with 1, 8 and
 * 64 concurrent writers (each awaits its append, then appends again: every append is
 * acknowledged only after fdatasync), next to the raw rate of write+fdatasync on the same
 * disk. The disk is shared and its speed drifts, so each row alternates raw and WAL runs of
 * the same length (`rounds` times) and reports medians; the ratio (WAL appends/s over raw
 * fdatasyncs/s) compares the two. Above 1 means group commit acknowledges more than one
 * append per physical sync.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/raft/types.js';
import { NodeFileSystem } from '../src/storage/node-file-system.js';
import { resolveStorageOptions } from '../src/storage/options.js';
import { Wal } from '../src/storage/wal.js';

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.split('=')[1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${arg}`);
  return value;
}

const seconds = flag('seconds', 1);
const rounds = flag('rounds', 3);
const payloadBytes = flag('payload-bytes', 256);
const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'conclave-wal-bench-'));

let walRuns = 0;
const RAW_FILE_BYTES = 64 * 1024 * 1024;
let rawFile: Awaited<ReturnType<typeof open>> | undefined;

/** Small appends into a pre-allocated file, each followed by fdatasync: the physical limit. */
async function rawFdatasyncRate(): Promise<{ perSecond: number; bytesPerSecond: number }> {
  if (rawFile === undefined) {
    rawFile = await open(join(root, 'raw'), 'w+');
    const chunk = new Uint8Array(1024 * 1024);
    for (let at = 0; at < RAW_FILE_BYTES; at += chunk.length) await rawFile.write(chunk, 0, chunk.length, at);
    await rawFile.sync();
  }
  const record = new Uint8Array(payloadBytes + 40).fill(7);
  let offset = 0;
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    await rawFile.write(record, 0, record.length, offset);
    await rawFile.datasync();
    offset = (offset + record.length) % (RAW_FILE_BYTES - record.length);
    count += 1;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { perSecond: count / elapsed, bytesPerSecond: (count * record.length) / elapsed };
}

async function walRate(writers: number): Promise<{ appendsPerSecond: number; bytesPerSecond: number; fsyncsPerSecond: number }> {
  const dir = join(root, `wal-${writers}-${walRuns++}`);
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
  console.log(`disk: ${root} | ${rounds} rounds of ${seconds}s raw + ${seconds}s WAL per row, medians | entry payload ${payloadBytes} bytes | load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('');
  console.log('| writers | WAL appends/s | WAL MiB/s | WAL fdatasyncs/s | appends per fdatasync | raw write+fdatasync/s (same disk, alternating) | WAL appends/s ÷ raw |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const writers of [1, 8, 64]) {
    const raws: number[] = [];
    const runs: Awaited<ReturnType<typeof walRate>>[] = [];
    for (let round = 0; round < rounds; round++) {
      raws.push((await rawFdatasyncRate()).perSecond);
      runs.push(await walRate(writers));
    }
    const r = runs.sort((a, b) => a.appendsPerSecond - b.appendsPerSecond)[Math.floor(runs.length / 2)]!;
    const raw = raws.sort((a, b) => a - b)[Math.floor(raws.length / 2)]!;
    console.log(
      `| ${writers} | ${fmt(r.appendsPerSecond)} | ${mb(r.bytesPerSecond)} | ${fmt(r.fsyncsPerSecond)} | ${(r.appendsPerSecond / r.fsyncsPerSecond).toFixed(2)} | ${fmt(raw)} | ${(r.appendsPerSecond / raw).toFixed(2)} |`,
    );
  }
} finally {
  await rawFile?.close();
  rmSync(root, { recursive: true, force: true });
}
