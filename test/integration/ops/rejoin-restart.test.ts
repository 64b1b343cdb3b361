// A member removed, wiped and added again with the same peer URL (the chaos suite's membership
// churn) keeps its new id across a kill -9 and restart. Found by `npm run chaos` (issue 15):
// the restarted member looked itself up by peer URL in state rebuilt from the leader's oldest
// snapshot, found the removed member of the same URL, took its id and stopped as removed,
// leaving the cluster a voter short for the rest of the run.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import type { ConclaveProcess } from '../support/conclave-process.js';
import { cleanup, spawnConclave, tempDir, waitServing } from '../support/solo.js';

const skip = missingBinaries('etcdctl');
afterAll(cleanup);

describe.skipIf(skip !== undefined)('a member re-added with the same peer URL, then restarted', () => {
  it('restarts under its new id, not the removed one, and takes part in commits', async () => {
    const ports = await freePorts(4);
    const names = ['r0', 'r1'];
    const clientUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i]}`;
    const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const endpoint = (i: number): string => `127.0.0.1:${ports[2 * i]}`;
    const root = tempDir('conclave-rejoin-');
    const dataDir = (i: number): string => join(root, names[i]!);
    const processes: ConclaveProcess[] = [];
    const start = (i: number, initialCluster: string, state: 'new' | 'existing'): ConclaveProcess => {
      // The memory engine rebuilds its state from the raft snapshot on every start.
      processes[i] = spawnConclave(['server', '--name', names[i]!, '--data-dir', dataDir(i), '--engine', 'memory',
        '--listen-client-urls', clientUrl(i), '--listen-peer-urls', peerUrl(i), '--initial-cluster', initialCluster, '--initial-cluster-state', state,
        '--heartbeat-interval', '100', '--election-timeout', '1000']);
      return processes[i];
    };
    const both = `r0=${peerUrl(0)},r1=${peerUrl(1)}`;
    start(0, both, 'new');
    start(1, both, 'new');
    for (const i of [0, 1]) await waitServing({ process: processes[i]!, endpoint: endpoint(i) });
    // The table, not -w json: JSON numbers lose the low bits of a 64-bit id.
    const idOf = async (i: number): Promise<string | undefined> => {
      const rows = (await etcdctl([endpoint(0)], ['member', 'list'])).split('\n').map((line) => line.split(', '));
      return rows.find((row) => row[3] === peerUrl(i))?.[0];
    };
    const statusId = async (i: number): Promise<string> => /^\S+, ([0-9a-f]+),/.exec(await etcdctl([endpoint(i)], ['endpoint', 'status']))![1]!;
    const oldId = (await idOf(1))!;
    expect(await statusId(1)).toBe(oldId);
    await etcdctl([endpoint(0)], ['put', 'before', '1']);

    // Churn: remove r1, wipe it, add it back as a learner with the same peer URL.
    await etcdctl([endpoint(0)], ['member', 'remove', oldId]);
    await processes[1]!.kill();
    rmSync(dataDir(1), { recursive: true, force: true });
    // r0 alone is the cluster now (it may have to win an election first, r1 may have led).
    await waitFor(async () => expect(await etcdctl([endpoint(0)], ['put', 'alone', '1', '--command-timeout=2s'])).toContain('OK'), { timeout: 30_000, interval: 300 });
    const added = await etcdctl([endpoint(0)], ['member', 'add', 'r1', `--peer-urls=${peerUrl(1)}`, '--learner']);
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]*)"/.exec(added)![1]!;
    const newId = /Member\s+([0-9a-f]+)\s+added/.exec(added)![1]!;
    expect(newId).not.toBe(oldId);
    start(1, initialCluster, 'existing');
    await waitServing({ process: processes[1]!, endpoint: endpoint(1) });
    expect(await statusId(1)).toBe(newId);
    // A voter again (promoted by the leader once caught up): with two voters, every commit needs it.
    await waitFor(async () => expect(await etcdctl([endpoint(0)], ['member', 'promote', newId]).catch((e: unknown) => String(e))).toMatch(/promoted|can only promote a learner member$/m), { timeout: 60_000, interval: 500 });

    await processes[1]!.kill();
    start(1, initialCluster, 'existing');
    await waitServing({ process: processes[1]!, endpoint: endpoint(1) });
    expect(await statusId(1)).toBe(newId);
    // Committing needs r1's vote and acknowledgement: it is back under its new id.
    await waitFor(async () => expect(await etcdctl([endpoint(0)], ['put', 'after', '2', '--command-timeout=3s'])).toContain('OK'), { timeout: 30_000, interval: 500 });
    expect(processes[1]!.running).toBe(true);
    expect(processes[1]!.log).not.toMatch(/removed from the cluster/);
  }, 180_000);
});
