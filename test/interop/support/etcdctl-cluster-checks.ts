/**
 * etcdctl 3.4 coordination and operations commands against the Conclave cluster: two `lock`
 * processes on different members excluding each other, `elect` with an observer, endpoint
 * status and health, alarm list, defrag, snapshot save (checksum verified and the file
 * restorable), move-leader, and member list/add/promote/remove with a real learner process
 * joining and then being removed (it stops itself). Exit statuses and output asserted;
 * long-running commands are observed through the lines they print, never through timings.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { unalignSnapshot } from '../../../src/server/api/maintenance-service.js';
import { MvccStore } from '../../../src/mvcc/index.js';
import { MemoryBackend, restoreSnapshot } from '../../../src/storage/backend/index.js';
import { EtcdctlProcess } from '../../support/etcdctl.js';
import { freePort } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import type { InteropContext } from './context.js';
import { parseJsonKeepingIds } from './context.js';
import { fails, lines, ok, runEtcdctl } from './run-etcdctl.js';

interface EndpointStatus { Endpoint: string; Status: { header: { member_id: string; revision: number }; leader: string } }

export function etcdctlClusterChecks(context: () => InteropContext): void {
  const processes: EtcdctlProcess[] = [];
  const at = (i: number): string[] => [context().cluster.nodes[i]!.endpoint];
  const all = (): string[] => context().cluster.endpoints(context().cluster.nodes.filter((n) => n.running));
  const passed = (...commands: string[]): void => {
    context().summary.etcdctl.push(...commands);
  };
  const statuses = async (): Promise<EndpointStatus[]> => parseJsonKeepingIds(await ok(all(), '-w', 'json', 'endpoint', 'status')) as EndpointStatus[];
  const hex = (decimal: string): string => BigInt(decimal).toString(16);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
  });

  it('etcdctl lock: a second lock process (another member) waits until the first exits', async () => {
    const first = new EtcdctlProcess(at(0), ['lock', 'ctl-lock']);
    processes.push(first);
    await waitFor(() => expect(first.lines().some((line) => line.startsWith('ctl-lock/'))).toBe(true));
    const second = new EtcdctlProcess(at(1), ['lock', 'ctl-lock', '--', 'sh', '-c', 'echo "acquired $ETCD_LOCK_KEY"']);
    processes.push(second);
    await waitFor(async () => expect(lines(await ok(at(2), 'get', 'ctl-lock/', '--prefix', '--keys-only'))).toHaveLength(2));
    expect(second.lines()).toEqual([]);
    expect(second.running).toBe(true);
    const secondKey = lines(await ok(at(2), 'get', 'ctl-lock/', '--prefix', '--keys-only', '--sort-by=CREATE'))[1]!;
    first.signal('SIGINT');
    expect(await second.exited).toBe(0);
    expect(second.lines()).toEqual([`acquired ${secondKey}`]);
    await waitFor(async () => expect(await ok(at(0), 'get', 'ctl-lock/', '--prefix', '--keys-only')).toBe(''));
    passed('lock (two processes exclude each other)');
  });

  it('etcdctl elect: an observer sees the leader, then the next one after the first resigns', async () => {
    const observer = new EtcdctlProcess(at(2), ['elect', '-l', 'ctl-elect']);
    processes.push(observer);
    const one = new EtcdctlProcess(at(0), ['elect', 'ctl-elect', 'one']);
    processes.push(one);
    await waitFor(() => expect(one.lines()).toEqual([expect.stringMatching(/^ctl-elect\//), 'one']));
    const two = new EtcdctlProcess(at(1), ['elect', 'ctl-elect', 'two']);
    processes.push(two);
    await waitFor(() => expect(observer.lines()).toEqual([expect.stringMatching(/^ctl-elect\//), 'one']));
    await waitFor(async () => expect(lines(await ok(at(0), 'get', 'ctl-elect/', '--prefix', '--keys-only'))).toHaveLength(2));
    expect(two.lines()).toEqual([]);
    one.signal('SIGINT');
    await waitFor(() => expect(two.lines()).toEqual([expect.stringMatching(/^ctl-elect\//), 'two']));
    await waitFor(() => expect(observer.lines().filter((line) => !line.startsWith('ctl-elect/'))).toEqual(['one', 'two']));
    two.signal('SIGINT');
    await observer.kill();
    passed('elect', 'elect -l (observer)');
  });

  it('etcdctl endpoint status and health, alarm list, defrag on every member', async () => {
    await waitFor(async () => {
      const status = await statuses();
      expect(status).toHaveLength(3);
      const leaders = new Set(status.map((s) => s.Status.leader));
      expect(leaders.size).toBe(1);
      expect(status.map((s) => s.Status.header.member_id)).toContain([...leaders][0]);
      expect(new Set(status.map((s) => s.Status.header.revision)).size).toBe(1);
    });
    // Each endpoint alone here; all at once (concurrent reads on every member) in the next check.
    for (const endpoint of all()) {
      const health = await runEtcdctl([endpoint], ['endpoint', 'health']);
      expect(health.code, health.stdout + health.stderr).toBe(0);
      // etcdctl 3.4 prints the health line on stderr.
      expect(lines(health.stdout + health.stderr)).toContainEqual(expect.stringMatching(new RegExp(`^${endpoint} is healthy: successfully committed proposal: took = `)));
    }
    expect(await ok(all(), 'alarm', 'list')).toBe('');
    expect(lines(await ok(all(), 'defrag')).sort()).toEqual(all().map((e) => `Finished defragmenting etcd member[${e}]`).sort());
    passed('endpoint status', 'endpoint health', 'alarm list', 'defrag');
  });

  // Concurrent linearizable reads on every member (ReadIndex contexts must be unique per member).
  it('etcdctl endpoint health on all members at once (concurrent linearizable reads on followers)', async () => {
    for (let round = 0; round < 3; round += 1) {
      const health = await runEtcdctl(all(), ['endpoint', 'health']);
      expect(health.code, health.stdout + health.stderr).toBe(0);
      const healthy = lines(health.stdout + health.stderr).filter((line) => / is healthy: successfully committed proposal: took = /.test(line));
      expect(healthy.map((line) => line.split(' ')[0]).sort()).toEqual([...all()].sort());
    }
    passed('endpoint health (all members at once)');
  });

  it('etcdctl snapshot save: a checksummed, restorable backend snapshot', async () => {
    const putRev = (parseJsonKeepingIds(await ok(at(0), '-w', 'json', 'put', 'snap/k', 'v')) as { header: { revision: number } }).header.revision;
    const dir = mkdtempSync(join(tmpdir(), 'conclave-interop-snap-'));
    try {
      const file = join(dir, 'snap.db');
      expect(await ok(at(1), 'snapshot', 'save', file)).toContain(`Snapshot saved at ${file}`);
      const body = unalignSnapshot(readFileSync(file)); // throws on a checksum mismatch
      const backend = new MemoryBackend();
      restoreSnapshot(backend, [body]);
      // The key space opens from it and holds the put made before the save.
      const store = MvccStore.open(backend);
      expect(store.currentRevision).toBeGreaterThanOrEqual(putRev);
      const found = store.range({ key: new Uint8Array(Buffer.from('snap/k')) }).kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString(), kv.modRevision]);
      expect(found).toEqual([['snap/k', 'v', putRev]]);
      backend.close();
      expect(await fails(all(), 'snapshot', 'save', join(dir, 'two.db'))).toMatch(/snapshot must be requested to one selected node/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    passed('snapshot save');
  });

  it('etcdctl move-leader hands leadership to a follower', async () => {
    const before = await statuses();
    const leader = before[0]!.Status.leader;
    const target = before.map((s) => s.Status.header.member_id).find((id) => id !== leader)!;
    const out = await ok(all(), 'move-leader', hex(target));
    // etcdctl prints ids unpadded (types.ID's String).
    expect(out.trim()).toBe(`Leadership transferred from ${hex(leader)} to ${hex(target)}`);
    await waitFor(async () => expect(new Set((await statuses()).map((s) => s.Status.leader))).toEqual(new Set([target])));
    expect(await fails(all(), 'move-leader', 'abcdef')).toMatch(/etcdserver: bad leader transferee/);
    passed('move-leader');
  });

  it('etcdctl member list, add (learner), promote and remove, with a real learner process', async () => {
    const { cluster } = context();
    const listed = lines(await ok(all(), 'member', 'list'));
    expect(listed).toHaveLength(3);
    for (const node of cluster.nodes.slice(0, 3)) {
      expect(listed).toContainEqual(expect.stringMatching(new RegExp(`^[0-9a-f]+, started, ${node.name}, ${node.spec.peerUrl}, ${node.spec.clientUrl}, false$`)));
    }
    // An unstarted learner cannot be promoted; it can be removed.
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    const added = await ok(all(), 'member', 'add', 'ghost', `--peer-urls=${peerUrl}`, '--learner');
    const ghost = /Member\s+([0-9a-f]+) added to cluster/.exec(added)?.[1];
    expect(ghost).toBeDefined();
    expect(lines(await ok(all(), 'member', 'list'))).toContainEqual(`${ghost}, unstarted, , ${peerUrl}, , true`);
    expect(await fails(all(), 'member', 'promote', ghost!)).toMatch(/can only promote a learner member which is in sync with leader/);
    expect((await ok(all(), 'member', 'remove', ghost!)).trim()).toMatch(new RegExp(`^Member\\s+${ghost} removed from cluster\\s+[0-9a-f]+$`));
    expect(await fails(all(), 'member', 'remove', ghost!)).toMatch(/member not found/);
    // A real learner process joins (member add --learner inside addLearner), catches up and is promoted.
    const { node, id } = await cluster.addLearner();
    await waitFor(async () => expect((await ok(all(), 'member', 'promote', id)).trim()).toMatch(new RegExp(`^Member\\s+${id} promoted in cluster`)), { timeout: 60_000, interval: 250 });
    await waitFor(async () => expect(lines(await ok(all(), 'member', 'list'))).toContainEqual(`${id}, started, ${node.name}, ${node.spec.peerUrl}, ${node.spec.clientUrl}, false`));
    expect(await ok([node.endpoint], 'get', 'ctl/a', '--print-value-only', '--consistency=s')).toBe('10\n');
    // Removed, the member stops its own process (exit 0), and the list is back to three.
    const remaining = cluster.endpoints(cluster.nodes.slice(0, 3));
    expect((await ok(remaining, 'member', 'remove', id)).trim()).toMatch(new RegExp(`^Member\\s+${id} removed from cluster`));
    expect((await node.process!.exited).code).toBe(0);
    expect(lines(await ok(remaining, 'member', 'list'))).toHaveLength(3);
    passed('member list', 'member add --learner', 'member promote', 'member remove');
  }, 180_000);
}
