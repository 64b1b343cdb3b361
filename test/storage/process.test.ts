// Method: real processes on the real disk. (1) kill -9: a child appends and acknowledges as
// fast as it can; it is killed with SIGKILL at a random moment (seeded), the parent reopens the
// directory and checks every acknowledged entry is there with the right term and bytes, then
// starts the next child on the same directory. KILL9_COUNT sets the number of kills (default
// 50). (2) fsync failure: a child's Nth fdatasync fails with EIO in the middle of a group-commit
// batch; the child must exit with code 70 and ERR_STORAGE_FATAL_IO, acknowledging nothing after
// the failure, and everything it did acknowledge must be on disk.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';
import { DiskStorage } from '../../src/storage/disk-storage.js';
import { NodeFileSystem } from '../../src/storage/node-file-system.js';
import { resolveStorageOptions } from '../../src/storage/options.js';
import { Wal } from '../../src/storage/wal.js';
import { makeEntry } from './helpers/entries.js';

const here = dirname(fileURLToPath(import.meta.url));
const KILLS = Number(process.env.KILL9_COUNT ?? 50);
const scratch = mkdtempSync(join(tmpdir(), 'conclave-storage-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Child {
  readonly lines: string[];
  waitFor(predicate: (line: string) => boolean): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function startChild(script: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; resolve: () => void }[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.splice(0)) {
        if (waiter.predicate(line)) waiter.resolve();
        else waiters.push(waiter);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    lines,
    exited,
    kill: () => child.kill('SIGKILL'),
    waitFor: (predicate) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some(predicate)) return resolve();
        waiters.push({ predicate, resolve });
        void exited.then(({ code, stderr: err }) => reject(new Error(`child exited (${code}) before the expected line: ${err}`)));
      }),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('real processes', () => {
  it(`keeps every acknowledged entry across ${KILLS} kill -9s`, { timeout: 150_000 }, async () => {
    const dir = join(scratch, 'kill9');
    const random = new SeededRandom(2026);
    const acked = new Map<number, number>();
    let repairs = 0;
    let snapshotIndex = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const child = startChild('wal-writer-child.ts', [dir, String(kill)]);
      await child.waitFor((line) => line.startsWith('ack '));
      // Let it run a random while after its first acknowledgement, then kill it mid-flight.
      await new Promise((resolve) => setTimeout(resolve, random.int(120)));
      child.kill();
      const { signal } = await child.exited;
      expect(signal).toBe('SIGKILL');
      for (const line of child.lines) {
        const [kind, index, term] = line.split(' ');
        if (kind === 'ack') acked.set(Number(index), Number(term));
      }
      const storage = await DiskStorage.open(new NodeFileSystem(), dir, { onFatal: () => undefined });
      if (storage.recovery.walRepair !== undefined) repairs += 1;
      const first = storage.firstIndex();
      const highest = Math.max(...acked.keys());
      expect(storage.lastIndex(), `after kill ${kill}`).toBeGreaterThanOrEqual(highest);
      for (const [index, term] of acked) {
        if (index < first) continue; // compacted into the snapshot
        const entry = storage.entries(index, index + 1, Infinity)[0]!;
        expect(entry.term, `entry ${index} after kill ${kill}`).toBe(term);
        expect(sameBytes(entry.data, makeEntry(index, term, entry.data.length).data)).toBe(true);
      }
      expect(storage.recovery.snapshotIndex).toBeLessThanOrEqual(highest);
      snapshotIndex = storage.recovery.snapshotIndex;
      await storage.close();
    }
    console.log(`kill -9: ${KILLS} kills survived, ${acked.size} acknowledged entries checked after each, ${repairs} torn tails repaired, last snapshot at ${snapshotIndex}`);
  });

  it('stops the process on an fsync failure in the middle of a batch, acknowledging nothing of it', { timeout: 30_000 }, async () => {
    const dir = join(scratch, 'fsync-failure');
    const child = startChild('fsync-failure-child.ts', [dir, '5']);
    const { code, stderr } = await child.exited;
    expect(code).toBe(70);
    expect(stderr).toMatch(/ERR_STORAGE_FATAL_IO: fatal storage error: fdatasync .* failed \(EIO/);
    const failure = child.lines.indexOf('FSYNC-FAIL');
    expect(failure).toBeGreaterThan(0);
    expect(child.lines.slice(failure + 1)).toEqual([]);
    const acked = child.lines.slice(0, failure).map((line) => Number(line.split(' ')[1]));
    // Acknowledged: a contiguous prefix of whole rounds; the 16 appends of the round whose batch
    // was being synced when fdatasync failed were never acknowledged (no ack after the failure).
    expect(acked.length).toBeGreaterThanOrEqual(16);
    expect(acked).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1));
    expect(acked.length % 16).toBe(0);
    const { replay, wal } = await Wal.open(new NodeFileSystem(), dir, resolveStorageOptions({ segmentBytes: 64 * 1024, onFatal: () => undefined }));
    const onDisk = new Set(replay.entries.map((entry) => entry.index));
    for (const index of acked) expect(onDisk.has(index)).toBe(true);
    await wal.close();
  });
});
