// Method: the Raft core (RawNode) on DiskStorage, end to end on the simulated disk. A single
// voter bootstraps, campaigns, and commits proposals, persisting each Ready with one save()
// (mustSync passed through) before advancing; every entry it applied is "acknowledged". Power
// is lost at a seeded random operation; a new RawNode over the reopened storage must keep its
// term and vote, and re-deliver every acknowledged proposal, in order, among its committed
// entries. It also checks that snapshots made through DiskStorage are usable by the core.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';
import { bootstrapState } from '../../src/raft/bootstrap.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { DiskStorage } from '../../src/storage/disk-storage.js';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';

const options = { segmentBytes: 4096, catchUpEntries: 2, onFatal: () => undefined };

/** Runs Ready cycles until there is nothing left; returns the data of applied proposals. */
async function drive(node: RawNode, storage: DiskStorage, applied: string[], snapshotEvery = 0): Promise<void> {
  while (node.hasReady()) {
    const ready = node.ready();
    await storage.save({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot, mustSync: ready.mustSync });
    for (const entry of ready.committedEntries) {
      if (entry.type === 'normal' && entry.data.length > 0) applied.push(new TextDecoder().decode(entry.data));
      if (snapshotEvery > 0 && entry.index % snapshotEvery === 0 && entry.index > storage.snapshot().metadata.index) {
        await storage.createSnapshot(entry.index, storage.snapshot().metadata.confState, new TextEncoder().encode(applied.join(',')));
      }
    }
    node.advance();
  }
}

describe('RawNode over DiskStorage', () => {
  it('keeps term, vote and every applied proposal across power losses at random points', { timeout: 60_000 }, async () => {
    const random = new SeededRandom(99);
    let checkedProposals = 0;
    let runsWithProposals = 0;
    for (let run = 0; run < 40; run++) {
      const fs = new SimFileSystem(run);
      const applied: string[] = [];
      let term = 0;
      fs.armCrash(40 + random.int(400), { keepPendingOps: random.chance(0.5) ? 'all' : 'none', tornBytes: random.int(200) });
      try {
        const storage = await DiskStorage.open(fs, '/data', options);
        await storage.save(bootstrapState([1n]));
        const node = new RawNode({ id: 1n, storage, random: new SeededRandom(run) });
        node.campaign();
        await drive(node, storage, applied, 10);
        term = node.status().hardState.term;
        for (let i = 0; i < 200; i++) {
          node.propose(new TextEncoder().encode(`v${i}`));
          await drive(node, storage, applied, 10);
        }
      } catch {
        // the power loss
      }
      expect(fs.isCrashed, `run ${run}`).toBe(true);
      fs.reboot();
      const storage = await DiskStorage.open(fs, '/data', options);
      if (storage.snapshot().metadata.index === 0) continue; // lost before the bootstrap was durable
      const { hardState } = storage.initialState();
      expect(hardState.term, `run ${run}`).toBeGreaterThanOrEqual(term);
      const snapshotData = new TextDecoder().decode(storage.snapshot().data);
      const recovered = snapshotData === '' ? [] : snapshotData.split(',');
      const node = new RawNode({ id: 1n, storage, random: new SeededRandom(run), applied: storage.snapshot().metadata.index });
      node.campaign();
      await drive(node, storage, recovered);
      // Everything applied before the crash is re-delivered, in the same order, first.
      expect(recovered.slice(0, applied.length), `run ${run}`).toEqual(applied);
      expect(node.status().hardState.term).toBeGreaterThan(hardState.term);
      checkedProposals += applied.length;
      if (applied.length > 0) runsWithProposals += 1;
    }
    console.log(`raft over DiskStorage: 40 power losses, ${checkedProposals} applied proposals re-delivered after restart`);
    expect(runsWithProposals).toBeGreaterThan(25);
  });
});
