// Row "a caught-up learner stays a learner" and must-show 4, the grow drill: one member
// with writes going on the whole time; add a learner, which the leader promotes on its own once
// it has caught up; add another, promoted likewise; remove the first member. No acknowledged
// write is lost and etcdctl works at every step.
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import type { ConclaveProcess } from '../support/conclave-process.js';
import { cleanup, spawnConclave, tempDir, waitServing } from '../support/solo.js';

const skip = missingBinaries('etcdctl');
afterAll(cleanup);

interface ListedMember { ID: number | string; name: string; isLearner?: boolean; peerURLs: string[] }

describe.skipIf(skip !== undefined)('grow drill: 1 -> 3 members with automatic learner promotion', () => {
  it('promotes each caught-up learner automatically, then removes the first member, losing no acknowledged write', async () => {
    const ports = await freePorts(6);
    const names = ['g0', 'g1', 'g2'];
    const clientUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i]}`;
    const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const endpoint = (i: number): string => `127.0.0.1:${ports[2 * i]}`;
    const processes: ConclaveProcess[] = [];
    const start = (i: number, initialCluster: string, state: 'new' | 'existing'): ConclaveProcess => {
      const p = spawnConclave(['server', '--name', names[i]!, '--data-dir', join(tempDir('conclave-grow-'), names[i]!), '--engine', 'lmdb',
        '--listen-client-urls', clientUrl(i), '--listen-peer-urls', peerUrl(i), '--initial-cluster', initialCluster, '--initial-cluster-state', state]);
      processes[i] = p;
      return p;
    };
    start(0, `g0=${peerUrl(0)}`, 'new');
    await waitServing({ process: processes[0]!, endpoint: endpoint(0) });

    const client = new Etcd3({ hosts: [0, 1, 2].map(endpoint), dialTimeout: 3_000, defaultCallOptions: () => ({ deadline: new Date(Date.now() + 10_000) }) });
    const acknowledged: number[] = [];
    let writing = true;
    let failures = 0;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        try {
          await client.put(`grow/${n}`).value(String(n));
          acknowledged.push(n);
        } catch {
          failures += 1; // may or may not have landed: not counted as acknowledged
        }
      }
    })();
    const list = async (at: number): Promise<ListedMember[]> =>
      (JSON.parse(await etcdctl([endpoint(at)], ['member', 'list', '-w', 'json'])) as { members: ListedMember[] }).members;
    const promotedAutomatically = async (i: number, at: number): Promise<void> => {
      await waitFor(async () => {
        const member = (await list(at)).find((m) => m.name === names[i]);
        expect(member, `${names[i]} is listed`).toBeDefined();
        expect(member!.isLearner ?? false).toBe(false);
      }, { timeout: 90_000, interval: 500 });
    };
    const addLearner = async (i: number, at: number): Promise<void> => {
      const output = await etcdctl([endpoint(at)], ['member', 'add', names[i]!, `--peer-urls=${peerUrl(i)}`, '--learner']);
      const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]*)"/.exec(output)![1]!;
      const learner = (await list(at)).find((m) => m.peerURLs.includes(peerUrl(i)));
      expect(learner?.isLearner).toBe(true);
      start(i, initialCluster, 'existing');
      await waitServing({ process: processes[i]!, endpoint: endpoint(i) });
    };
    try {
      await waitFor(() => expect(acknowledged.length).toBeGreaterThan(20));
      await addLearner(1, 0);
      await promotedAutomatically(1, 0);
      await addLearner(2, 1);
      await promotedAutomatically(2, 2);
      // The table, not -w json: JSON numbers lose the low bits of a 64-bit id.
      const firstId = /^([0-9a-f]+), started, g0,/m.exec(await etcdctl([endpoint(1)], ['member', 'list']))![1]!;
      await etcdctl([endpoint(1)], ['member', 'remove', firstId]);
      await waitFor(() => expect(processes[0]!.running).toBe(false), { timeout: 60_000, interval: 200 });
      expect((await list(2)).map((m) => m.name).sort()).toEqual(['g1', 'g2']);
      const before = acknowledged.length;
      await waitFor(() => expect(acknowledged.length).toBeGreaterThan(before + 20), { timeout: 60_000 });
    } finally {
      writing = false;
      await writer;
    }
    const stored = JSON.parse(await etcdctl([endpoint(1)], ['get', 'grow/', '--prefix', '--keys-only', '-w', 'json', '--consistency=l'])) as { kvs?: Array<{ key: string }> };
    const keys = new Set((stored.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString()));
    const lost = acknowledged.filter((n) => !keys.has(`grow/${n}`));
    expect(lost).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(60);
    expect(await etcdctl([endpoint(2)], ['endpoint', 'status'])).toContain(endpoint(2));
    expect(await (await fetch(`${clientUrl(2)}/health`)).json()).toEqual({ health: 'true', reason: '' });
    client.close();
    console.log(`grow drill: ${acknowledged.length} writes acknowledged, ${failures} failed (not counted), none lost`);
  }, 400_000);
});
