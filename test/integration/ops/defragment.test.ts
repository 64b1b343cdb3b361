// Rows "etcdctl defrag reclaims nothing" and "etcdctl defrag with 3 endpoints at once", on both
// engines: the DB SIZE that `endpoint status` reports behaves like etcd's bbolt file (it does not
// shrink on delete or compact, only the in-use size does), and a defrag of all three members in
// one etcdctl call succeeds on each, with writes going on, shrinking every member's size (and,
// on lmdb, its file) while keeping every live key.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { ConclaveCluster } from '../support/cluster.js';

const skip = missingBinaries('etcdctl');

interface DbSize {
  readonly total: number;
  readonly inUse: number;
}

/** Every member's (dbSize, dbSizeInUse) as etcdctl reports them, in node order. */
async function dbSizes(cluster: ConclaveCluster): Promise<DbSize[]> {
  const sizes: DbSize[] = [];
  for (const node of cluster.nodes) {
    const [status] = JSON.parse(await etcdctl([node.endpoint], ['endpoint', 'status', '-w', 'json'])) as Array<{ Status: { dbSize: number; dbSizeInUse: number } }>;
    sizes.push({ total: Number(status!.Status.dbSize), inUse: Number(status!.Status.dbSizeInUse) });
  }
  return sizes;
}

describe.skipIf(skip !== undefined).each(['lmdb', 'memory'] as const)('defragment (3 members, %s)', (engine) => {
  let cluster: ConclaveCluster;
  beforeAll(async () => {
    cluster = await ConclaveCluster.start({ members: 3, engine });
  }, 120_000);
  afterAll(async () => cluster?.stop());

  it('keeps DB SIZE through delete + compact, then shrinks every member on all three endpoints at once, with writes going on', async () => {
    const client = cluster.client();
    // Enough writes that lmdb commits a batch (every 10,000 backend writes) before the defrag.
    const value = 'v'.repeat(1000);
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => client.put(`defrag/${batch * 100 + i}`).value(value)));
    }
    await client.put('keep').value('kept');
    // Every member applied the last put once a linearizable read through it answers.
    for (const node of cluster.nodes) expect(await etcdctl([node.endpoint], ['get', 'keep', '--print-value-only', '--consistency=l'])).toBe('kept\n');
    const written = await dbSizes(cluster);
    for (const size of written) expect(size.total).toBeGreaterThan(4_000_000);

    await client.delete().prefix('defrag/');
    const revision = /"revision":(\d+)/.exec(await etcdctl(cluster.endpoints(), ['get', 'keep', '-w', 'json']))![1]!;
    await etcdctl(cluster.endpoints(), ['compact', revision, '--physical']);
    const compacted = await dbSizes(cluster);
    for (let i = 0; i < compacted.length; i++) {
      // As a bbolt file: the deletes and the compaction free space inside the store, never shrink it.
      expect(compacted[i]!.total).toBeGreaterThanOrEqual(written[i]!.total);
      // lmdb's in-use size counts buffered writes (the compaction's deletes among them) until its
      // next batch commit, so only the memory engine's in-use size drops at once.
      if (engine === 'memory') expect(compacted[i]!.inUse).toBeLessThan(written[i]!.inUse / 4);
    }
    const fileBytes = (): number[] => cluster.nodes.map((n) => statSync(join(n.spec.dataDir, 'backend', 'data.mdb')).size);
    const filesBefore = engine === 'lmdb' ? fileBytes() : [];

    let writing = true;
    const writes = (async () => {
      let n = 0;
      while (writing) await client.put(`during/${n++}`).value('x');
      return n;
    })();
    const output = await etcdctl(cluster.endpoints(), ['defrag']);
    writing = false;
    const duringCount = await writes;
    for (const node of cluster.nodes) expect(output).toContain(`Finished defragmenting etcd member[${node.endpoint}]`);

    const defragmented = await dbSizes(cluster);
    for (let i = 0; i < defragmented.length; i++) expect(defragmented[i]!.total).toBeLessThan(compacted[i]!.total / 4);
    if (engine === 'lmdb') {
      const filesAfter = fileBytes();
      for (let i = 0; i < filesAfter.length; i++) expect(filesAfter[i]!).toBeLessThan(filesBefore[i]! / 4);
    }
    expect(await etcdctl([cluster.nodes[2]!.endpoint], ['get', 'keep', '--print-value-only', '--consistency=l'])).toBe('kept\n');
    expect(await client.get(`during/${duringCount - 1}`).string()).toBe('x');
    expect(await client.getAll().prefix('during/').count()).toBe(duringCount);
    expect(await client.getAll().prefix('defrag/').count()).toBe(0);
  }, 180_000);
});
