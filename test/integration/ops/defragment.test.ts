// Rows "etcdctl defrag reclaims nothing" and "etcdctl defrag with 3 endpoints at once": on the
// lmdb engine the backend file shrinks after delete + compact + defrag (every live key kept),
// and a defrag of all three members in one etcdctl call succeeds on each, with writes going on.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { ConclaveCluster } from '../support/cluster.js';

const skip = missingBinaries('etcdctl');

describe.skipIf(skip !== undefined)('defragment (3 members, lmdb)', () => {
  let cluster: ConclaveCluster;
  beforeAll(async () => {
    cluster = await ConclaveCluster.start({ members: 3, engine: 'lmdb' });
  }, 120_000);
  afterAll(async () => cluster?.stop());

  it('shrinks every member\'s backend file after delete + compact, on all three endpoints at once, with writes going on', async () => {
    const client = cluster.client();
    // Enough writes that lmdb commits a batch (every 10,000 backend writes) before the defrag.
    const value = 'v'.repeat(1000);
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => client.put(`defrag/${batch * 100 + i}`).value(value)));
    }
    await client.put('keep').value('kept');
    await client.delete().prefix('defrag/');
    const revision = /"revision":(\d+)/.exec(await etcdctl(cluster.endpoints(), ['get', 'keep', '-w', 'json']))![1]!;
    await etcdctl(cluster.endpoints(), ['compact', revision, '--physical']);
    // The backend commits in batches: a status call does not flush, so measure after the members
    // committed the deletes (a defrag flushes first either way; compare the files it leaves).
    const fileBytes = (): number[] => cluster.nodes.map((n) => statSync(join(n.spec.dataDir, 'backend', 'data.mdb')).size);
    const before = fileBytes();
    expect(Math.min(...before)).toBeGreaterThan(2_000_000);
    let writing = true;
    const writes = (async () => {
      let n = 0;
      while (writing) await client.put(`during/${n++}`).value('x');
      return n;
    })();
    const output = await etcdctl(cluster.endpoints(), ['defrag']);
    writing = false;
    const written = await writes;
    for (const node of cluster.nodes) expect(output).toContain(`Finished defragmenting etcd member[${node.endpoint}]`);
    const after = fileBytes();
    for (let i = 0; i < after.length; i++) expect(after[i]!).toBeLessThan(before[i]! / 4);
    expect(await etcdctl([cluster.nodes[2]!.endpoint], ['get', 'keep', '--print-value-only', '--consistency=l'])).toBe('kept\n');
    expect(await client.get(`during/${written - 1}`).string()).toBe('x');
    expect(await client.getAll().prefix('during/').count()).toBe(written);
  }, 180_000);
});
