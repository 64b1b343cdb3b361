// Durability under the pipelined ready loop (design rule 6): a put is acknowledged only once
// its entry is durable on a quorum, counting the leader's own copy only once it is durable.
// A file system wrapper holds the WAL writes of chosen members (their data stays not durable
// until released) and records which writes completed; the cluster runs on real disks and real
// loopback gRPC. Outcomes are states (commit index, acknowledgement), never durations.
import { afterEach, describe, expect, it } from 'vitest';
import { deferred } from '../../src/base/deferred.js';
import type { Deferred } from '../../src/base/deferred.js';
import { NodeFileSystem } from '../../src/storage/index.js';
import type { FileHandle, FileSystem, OpenOptions } from '../../src/storage/index.js';
import { createTestCluster } from '../../src/testing/index.js';
import type { TestCluster } from '../../src/testing/index.js';
import { waitFor } from '../support/wait.js';

/** The real file system, with the durable (WAL append) writes of a member held on demand. */
class HeldWalFileSystem implements FileSystem {
  private readonly inner = new NodeFileSystem();
  private readonly gates = new Map<string, Deferred<void>>();
  /** Durable WAL writes completed, per member name. */
  readonly durableWrites = new Map<string, number>();

  hold(member: string): void {
    if (!this.gates.has(member)) this.gates.set(member, deferred<void>());
  }

  release(member: string): void {
    this.gates.get(member)?.resolve();
    this.gates.delete(member);
  }

  releaseAll(): void {
    for (const name of [...this.gates.keys()]) this.release(name);
  }

  completed(member: string): number {
    return this.durableWrites.get(member) ?? 0;
  }

  async open(path: string, options?: OpenOptions): Promise<FileHandle> {
    const handle = await this.inner.open(path, options);
    const member = /\/(m\d+)\/member\/wal\//.exec(path)?.[1];
    if (options?.durableWrites !== true || member === undefined) return handle;
    return {
      path: handle.path,
      durableWrites: true,
      read: (position, length) => handle.read(position, length),
      write: async (position, data) => {
        for (let gate = this.gates.get(member); gate !== undefined; gate = this.gates.get(member)) await gate.promise;
        await handle.write(position, data);
        this.durableWrites.set(member, this.completed(member) + 1);
      },
      sync: () => handle.sync(),
      truncate: (size) => handle.truncate(size),
      allocate: (size) => handle.allocate(size),
      sizeBytes: () => handle.sizeBytes(),
      close: () => handle.close(),
    };
  }

  mkdirp(dir: string): Promise<void> { return this.inner.mkdirp(dir); }
  list(dir: string): Promise<string[]> { return this.inner.list(dir); }
  create(path: string): Promise<FileHandle> { return this.inner.create(path); }
  readFile(path: string): Promise<Uint8Array> { return this.inner.readFile(path); }
  rename(from: string, to: string): Promise<void> { return this.inner.rename(from, to); }
  remove(path: string): Promise<void> { return this.inner.remove(path); }
  syncDir(dir: string): Promise<void> { return this.inner.syncDir(dir); }
}

describe('pipelined ready loop: durability before acknowledgement', () => {
  let cluster: TestCluster | undefined;
  const fs = new HeldWalFileSystem();

  afterEach(async () => {
    fs.releaseAll();
    await cluster?.close();
    cluster = undefined;
  });

  it('acknowledges a put only once it is durable on a quorum, the leader\'s own copy included', async () => {
    // A long election timeout: the held leader's ready loop sends no heartbeats meanwhile, and
    // the followers must not replace it during the test on a loaded machine.
    cluster = await createTestCluster({ members: 3, heartbeatIntervalMs: 100, electionTimeoutMs: 4000, member: { fileSystem: fs } });
    const leader = await cluster.waitForLeader();
    const [slow, fast] = cluster.members.filter((m) => m.index !== leader.index);
    const client = cluster.client({ members: [leader.index] });
    await client.put('warm-up', '1');
    await waitFor(() => expect(cluster!.members.every((m) => m.status().raftAppliedIndex === leader.status().raftIndex)).toBe(true));
    const commitBefore = leader.status().raftIndex;
    const fastWrites = fs.completed(fast!.name);

    fs.hold(leader.name);
    fs.hold(slow!.name);
    let acknowledged = false;
    const put = client.put('k', 'v').then(() => {
      acknowledged = true;
    });
    // Durable on one follower only: one durable copy of three is no quorum, so the leader must
    // not count it committed (its own copy is not durable yet), let alone acknowledge it.
    await waitFor(() => expect(fs.completed(fast!.name)).toBeGreaterThan(fastWrites));
    // The follower's answer reaches the leader's raft while its ready loop waits on the disk.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(leader.status().raftIndex).toBe(commitBefore);
    expect(acknowledged).toBe(false);

    // Two followers durable: a quorum. It commits, but the leader applies (and answers) only
    // what it holds durably itself.
    fs.release(slow!.name);
    await waitFor(() => expect(leader.status().raftIndex).toBeGreaterThan(commitBefore));
    expect(acknowledged).toBe(false);
    expect(leader.status().raftAppliedIndex).toBe(commitBefore);

    fs.release(leader.name);
    await put;
    expect(acknowledged).toBe(true);
    const value = await client.get('k').string();
    expect(value).toBe('v');
  }, 60_000);

  it('a single member acknowledges a put only after its own write is durable', async () => {
    cluster = await createTestCluster({ members: 1, member: { fileSystem: fs } });
    const leader = await cluster.waitForLeader();
    const client = cluster.client();
    await client.put('warm-up', '1');
    const commitBefore = leader.status().raftIndex;
    fs.hold(leader.name);
    let acknowledged = false;
    const put = client.put('k', 'v').then(() => {
      acknowledged = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(acknowledged).toBe(false);
    expect(leader.status().raftIndex).toBe(commitBefore);
    fs.release(leader.name);
    await put;
    expect(leader.status().raftIndex).toBeGreaterThan(commitBefore);
  }, 60_000);
});
