// Method: each property of the simulated disk's power-loss model is checked directly: what a
// crash keeps (synced data, synced names) and drops (everything else), the torn-write and
// failed-fsync models, and that the same seed replays the same faults.
import { describe, expect, it } from 'vitest';
import { SimFileSystem, SimulatedCrashError } from '../../src/storage/sim-file-system.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

async function setup(seed = 1) {
  const fs = new SimFileSystem(seed);
  await fs.mkdirp('/d');
  return fs;
}

describe('SimFileSystem', () => {
  it('keeps synced data and synced names across a crash, and drops the rest', async () => {
    const fs = await setup();
    const file = await fs.create('/d/a');
    await file.write(0, bytes(1, 2, 3));
    await file.sync();
    await fs.syncDir('/d');
    await file.write(3, bytes(4, 5));
    const unsyncedName = await fs.create('/d/b');
    await unsyncedName.write(0, bytes(9));
    await unsyncedName.sync();
    fs.crashNow();
    await expect(fs.list('/d')).rejects.toBeInstanceOf(SimulatedCrashError);
    fs.reboot();
    expect(await fs.list('/d')).toEqual(['a']);
    expect([...(await fs.readFile('/d/a'))]).toEqual([1, 2, 3]);
    await expect(file.read(0, 3)).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('reverts a rename and an unlink that were not followed by a directory fsync', async () => {
    const fs = await setup();
    for (const name of ['x', 'y']) {
      const file = await fs.create(`/d/${name}`);
      await file.write(0, bytes(name.charCodeAt(0)));
      await file.sync();
    }
    await fs.syncDir('/d');
    await fs.rename('/d/x', '/d/z');
    await fs.remove('/d/y');
    expect(await fs.list('/d')).toEqual(['z']);
    fs.crashNow();
    fs.reboot();
    expect(await fs.list('/d')).toEqual(['x', 'y']);
    await fs.rename('/d/x', '/d/z');
    await fs.syncDir('/d');
    fs.crashNow({ keepDirChanges: false });
    fs.reboot();
    expect(await fs.list('/d')).toEqual(['y', 'z']);
  });

  it('can keep a prefix of the unsynced writes and tear the next one at any byte', async () => {
    const fs = await setup();
    const file = await fs.create('/d/a');
    await fs.syncDir('/d');
    await file.write(0, bytes(1, 1));
    await file.write(2, bytes(2, 2, 2, 2));
    await file.write(6, bytes(3, 3));
    fs.crashNow({ keepPendingOps: 1, tornBytes: 3 });
    fs.reboot();
    expect([...(await fs.readFile('/d/a'))]).toEqual([1, 1, 2, 2, 2]);
  });

  it('loses power at an armed operation, tearing the write in progress', async () => {
    const fs = await setup();
    const file = await fs.create('/d/a');
    await fs.syncDir('/d');
    fs.armCrash(fs.operations + 2, { keepPendingOps: 'all', tornBytes: 2 });
    await file.write(0, bytes(7, 7));
    await expect(file.write(2, bytes(8, 8, 8))).rejects.toBeInstanceOf(SimulatedCrashError);
    fs.reboot();
    expect([...(await fs.readFile('/d/a'))]).toEqual([7, 7, 8, 8]);
    expect(fs.trace.slice(-2).map((op) => op.kind)).toEqual(['write', 'write']);
  });

  it('models fsyncgate: after a failed sync the retried sync succeeds but the data never becomes durable', async () => {
    const fs = await setup();
    const file = await fs.create('/d/a');
    await fs.syncDir('/d');
    await file.write(0, bytes(5, 5));
    fs.failAtOp(fs.operations + 1, 'EIO');
    await expect(file.sync()).rejects.toMatchObject({ code: 'EIO', syscall: 'fsync' });
    await file.sync();
    expect([...(await fs.readFile('/d/a'))]).toEqual([5, 5]);
    fs.crashNow();
    fs.reboot();
    expect([...(await fs.readFile('/d/a'))]).toEqual([]);
  });

  it('fails a write with ENOSPC without writing anything', async () => {
    const fs = await setup();
    const file = await fs.create('/d/a');
    fs.failAtOp(fs.operations + 1, 'ENOSPC');
    await expect(file.write(0, bytes(1, 2))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await file.sizeBytes()).toBe(0);
  });

  it('draws the same faults and crash plans from the same seed', async () => {
    const run = async (seed: number) => {
      const fs = new SimFileSystem(seed, { writeFailureProbability: 0.3, syncFailureProbability: 0.3 });
      await fs.mkdirp('/d');
      const file = await fs.create('/d/a');
      const outcomes: string[] = [];
      for (let i = 0; i < 40; i++) {
        await file.write(i, bytes(i)).then(() => outcomes.push('w'), (e: NodeJS.ErrnoException) => outcomes.push(e.code!));
        await file.sync().then(() => outcomes.push('s'), (e: NodeJS.ErrnoException) => outcomes.push(e.code!));
      }
      outcomes.push(JSON.stringify(fs.randomCrashPlan()));
      return outcomes;
    };
    expect(await run(3)).toEqual(await run(3));
    expect(await run(3)).not.toEqual(await run(4));
    expect((await run(3)).filter((o) => o === 'EIO' || o === 'ENOSPC').length).toBeGreaterThan(5);
  });

  it('flips a stored bit in both views', async () => {
    const fs = await setup();
    const file = await fs.create('/d/a');
    await file.write(0, bytes(0, 0));
    await file.sync();
    await fs.syncDir('/d');
    fs.flipBit('/d/a', 1, 3);
    expect([...(await fs.readFile('/d/a'))]).toEqual([0, 8]);
    expect([...fs.durableContent('/d/a')!]).toEqual([0, 8]);
  });
});
