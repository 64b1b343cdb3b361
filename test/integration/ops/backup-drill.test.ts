// Row "etcdctl snapshot save file / no restore command" and must-show 3, the backup drill:
// write N keys to 3 members, save with `conclave snapshot save` and with `etcdctl snapshot
// save`, check `conclave snapshot status`, wipe all three, restore a new 3-member cluster from
// each file, and find identical HashKV and every key. N is CONCLAVE_DRILL_KEYS (default 5,000
// in CI; the report's run used 100,000). A damaged file is refused with a clear error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { ConclaveCluster } from '../support/cluster.js';
import { cleanup, spawnConclave, tempDir } from '../support/solo.js';

const skip = missingBinaries('etcdctl');
const KEYS = Number(process.env.CONCLAVE_DRILL_KEYS ?? 5000);
afterAll(cleanup);

async function run(args: string[]): Promise<string> {
  const p = spawnConclave(args);
  const exit = await p.exited;
  if (exit.code !== 0) throw new Error(`conclave ${args.join(' ')} exited ${exit.code}: ${p.log}`);
  return p.log;
}

function hashKv(output: string): Array<{ hash: number; revision: number }> {
  return (JSON.parse(output) as Array<{ HashKV: { hash: number; header: { revision: number } } }>).map((e) => ({ hash: e.HashKV.hash, revision: e.HashKV.header.revision }));
}

describe.skipIf(skip !== undefined)(`backup drill (${KEYS} keys, 3 members)`, () => {
  it('restores a new 3-member cluster from a conclave and from an etcdctl snapshot file with identical HashKV and every key', async () => {
    const source = await ConclaveCluster.start({ members: 3, engine: 'lmdb' });
    const dir = tempDir('conclave-drill-');
    let original: Array<{ hash: number; revision: number }>;
    const conclaveFile = join(dir, 'conclave.snap');
    const etcdctlFile = join(dir, 'etcdctl.snap');
    try {
      const client = source.client();
      for (let start = 0; start < KEYS; start += 500) {
        // A put that timed out on a loaded machine is sent again: it writes the same value, so
        // landing twice changes nothing the drill compares (HashKV is taken after all writes).
        const put = async (n: number): Promise<void> => {
          for (let attempt = 1; ; attempt++) {
            try {
              await client.put(`drill/${n}`).value(`value-${n}`);
              return;
            } catch (error) {
              if (attempt >= 5 || !/UNAVAILABLE|timed out/.test(String(error))) throw error;
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(500, KEYS - start) }, (_, i) => put(start + i)));
      }
      await waitFor(async () => {
        const hashes = hashKv(await etcdctl(source.endpoints(), ['endpoint', 'hashkv', '-w', 'json']));
        expect(new Set(hashes.map((h) => `${h.hash}@${h.revision}`)).size).toBe(1);
        original = hashes;
      }, { timeout: 60_000, interval: 500 });
      expect(await run(['snapshot', 'save', conclaveFile, '--endpoints', source.nodes[1]!.endpoint])).toContain(`Snapshot saved at ${conclaveFile}`);
      expect(await etcdctl([source.nodes[2]!.endpoint], ['snapshot', 'save', etcdctlFile])).toContain(`Snapshot saved at ${etcdctlFile}`);
    } finally {
      await source.stop(); // kills all three and removes their data directories
    }
    const status = JSON.parse(await run(['snapshot', 'status', conclaveFile, '-w', 'json'])) as { revision: number; totalKey: number; totalSize: number; hash: number };
    expect(status.revision).toBe(original![0]!.revision);
    expect(status.totalKey).toBeGreaterThan(KEYS);
    expect(status.totalSize).toBe(readFileSync(conclaveFile).byteLength);

    for (const file of [conclaveFile, etcdctlFile]) {
      const ports = await freePorts(6);
      const names = ['r0', 'r1', 'r2'];
      const peer = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
      const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
      const dataDirs = names.map((n) => join(tempDir('conclave-restored-'), n));
      for (let i = 0; i < 3; i++) {
        await run(['snapshot', 'restore', file, '--name', names[i]!, '--data-dir', dataDirs[i]!, '--initial-cluster', initialCluster, '--initial-advertise-peer-urls', peer(i), '--initial-cluster-token', 'restored']);
      }
      const endpoints = names.map((_, i) => `127.0.0.1:${ports[2 * i]}`);
      for (let i = 0; i < 3; i++) {
        spawnConclave(['server', '--name', names[i]!, '--data-dir', dataDirs[i]!, '--engine', i === 0 ? 'memory' : 'lmdb',
          '--listen-client-urls', `http://${endpoints[i]}`, '--listen-peer-urls', peer(i), '--initial-cluster', initialCluster, '--initial-cluster-token', 'restored']);
      }
      await waitFor(async () => {
        const hashes = hashKv(await etcdctl(endpoints, ['endpoint', 'hashkv', '-w', 'json']));
        expect(hashes).toEqual(original!.map((h) => ({ hash: h.hash, revision: h.revision })));
      }, { timeout: 90_000, interval: 500 });
      // Read back in ten slices (drill/0..., drill/1..., ...) to keep each response small.
      // Linearizable reads need a leader: on a loaded machine the restored cluster may still be
      // electing one after its HashKV (served without a leader) already matched, so a read
      // refused with "no leader" is asked again.
      const reader = new Etcd3({ hosts: [endpoints[0]!], dialTimeout: 3_000 });
      const got = new Map<string, string>();
      try {
        await waitFor(async () => {
          for (let digit = 0; digit < 10; digit++) {
            for (const [key, value] of Object.entries(await reader.getAll().prefix(`drill/${digit}`).strings())) got.set(key, value);
          }
        }, { timeout: 60_000, interval: 500 });
      } finally {
        reader.close();
      }
      expect(got.size).toBe(KEYS);
      for (let i = 0; i < KEYS; i++) expect(got.get(`drill/${i}`)).toBe(`value-${i}`);
      await etcdctl(endpoints, ['put', 'after-restore', 'ok']);
      const members = await etcdctl([endpoints[1]!], ['member', 'list']);
      expect(members.split('\n').filter((l) => l.includes('started')).length).toBe(3);
    }

    const damaged = readFileSync(conclaveFile);
    damaged[100] = damaged[100]! ^ 0xff;
    writeFileSync(join(dir, 'damaged.snap'), damaged);
    const refused = spawnConclave(['snapshot', 'status', join(dir, 'damaged.snap')]);
    expect((await refused.exited).code).toBe(1);
    expect(refused.log).toContain('ERR_SNAPSHOT_INVALID: not a Conclave snapshot file: snapshot checksum mismatch');
  }, Math.max(600_000, KEYS * 12));
});
