// The caller's identity travels explicitly from the gRPC guard to each proposal (no
// AsyncLocalStorage, no "current caller" variable). With two users calling at once, each
// write is stamped with its own caller: the applier re-checks writes at apply time against
// the stamped user, so a write stamped with the wrong user would be refused (or a refused one
// let through). A proposal the member makes itself (a lease expiring) carries no caller and
// is not re-checked, even when the user who attached the key has lost its permission since.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auth } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import { Lock } from '../../../src/gen/v3lockpb/v3lock_pb.js';
import { Client, PermissionDeniedError } from '../../../src/index.js';
import { startMember } from '../../../src/embed/index.js';
import type { EmbeddedMember } from '../../../src/embed/index.js';
import { waitFor } from '../../support/wait.js';
import { RawClient } from '../api/support/raw-client.js';

let dataDir: string;
let member: EmbeddedMember;
let root: Client;

const ROOT = { username: 'root', password: 'root-pw' };
const ALICE = { username: 'alice', password: 'alice-pw' };
const BOB = { username: 'bob', password: 'bob-pw' };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conclave-caller-'));
  member = await startMember({
    dataDir, listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'], initialCluster: 'default=http://127.0.0.1:1',
    initialAdvertisePeerUrls: ['http://127.0.0.1:1'], heartbeatIntervalMs: 20, electionTimeoutMs: 200, bcryptCost: 4,
  });
  const admin = new Client({ endpoints: [...member.clientUrls] });
  try {
    await admin.auth.userAdd(ROOT.username, ROOT.password);
    await admin.auth.userGrantRole(ROOT.username, 'root');
    for (const [user, role, prefix] of [[ALICE, 'ra', 'a/'], [BOB, 'rb', 'b/']] as const) {
      await admin.auth.roleAdd(role);
      await admin.auth.roleGrantPermission(role, { type: 'readwrite', prefix });
      await admin.auth.userAdd(user.username, user.password);
      await admin.auth.userGrantRole(user.username, role);
    }
    await admin.auth.enable();
  } finally {
    admin.destroy();
  }
  root = new Client({ endpoints: [...member.clientUrls], auth: ROOT });
});

afterAll(async () => {
  root?.destroy();
  await member?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** `count` puts of `prefix<i>` by `client`, started now; each settles to 'ok' or its error. */
function puts(client: Client, prefix: string, count: number): Promise<unknown>[] {
  return Array.from({ length: count }, (_, i) => client.put(`${prefix}${i}`, 'v').then(() => 'ok', (error: unknown) => error));
}

describe('the caller of each call', () => {
  it('two users writing at once each get their own identity stamped on their proposals', async () => {
    // One networked client and one in-process client: both paths pass the guard's identity on.
    const alice = new Client({ endpoints: [...member.clientUrls], auth: ALICE });
    const bob = member.client({ auth: BOB });
    try {
      await Promise.all([alice.get('a/warm'), bob.get('b/warm')]);
      const count = 40;
      // Started interleaved, so the calls' guards, proposals and applies overlap.
      const results = await Promise.all([
        ...puts(alice, 'a/own-', count), ...puts(bob, 'b/own-', count),
        ...puts(alice, 'b/alice-', count), ...puts(bob, 'a/bob-', count),
      ]);
      const own = results.slice(0, 2 * count);
      const crossed = results.slice(2 * count);
      expect(own.filter((r) => r !== 'ok')).toEqual([]);
      expect(crossed.filter((r) => !(r instanceof PermissionDeniedError))).toEqual([]);
      const keys = async (prefix: string): Promise<string[]> => (await root.get(prefix).prefix()).kvs.map((kv) => kv.key).sort();
      expect(await keys('a/')).toEqual(Array.from({ length: count }, (_, i) => `a/own-${i}`).sort());
      expect(await keys('b/')).toEqual(Array.from({ length: count }, (_, i) => `b/own-${i}`).sort());
    } finally {
      alice.destroy();
      bob.destroy();
    }
  });

  it('concurrent v3lock calls by two users stamp every step (lease grant, then the txn after it) with their own caller', async () => {
    const raw = new RawClient(member.clientUrls[0]!.replace(/^http:\/\//, ''));
    try {
      const tokenOf = async (user: { username: string; password: string }): Promise<Metadata> => {
        const answer = await raw.unary(Auth.method.authenticate, { name: user.username, password: user.password });
        if (!('ok' in answer)) throw new Error(`authenticate ${user.username}: ${answer.error.details}`);
        const metadata = new Metadata();
        metadata.set('token', answer.ok.token);
        return metadata;
      };
      const [alice, bob] = await Promise.all([tokenOf(ALICE), tokenOf(BOB)]);
      const count = 20;
      // Lease 0: the server grants a session lease first and awaits it, then proposes the
      // txn; a caller kept anywhere but the call itself would be the other user's by then.
      const lock = (metadata: Metadata, name: string) => raw.unary(Lock.method.lock, { name: new TextEncoder().encode(name), lease: 0n }, 10_000, metadata);
      const results = await Promise.all(Array.from({ length: count }, (_, i) => [lock(alice, `a/lock-${i}`), lock(bob, `b/lock-${i}`)]).flat());
      expect(results.filter((r) => !('ok' in r))).toEqual([]);
      expect((await root.get('a/lock-').prefix()).kvs).toHaveLength(count);
      expect((await root.get('b/lock-').prefix()).kvs).toHaveLength(count);
    } finally {
      raw.close();
    }
  });

  it('a lease the member expires itself revokes its keys even after their writer lost the permission', async () => {
    const carol = { username: 'carol', password: 'carol-pw' };
    await root.auth.roleAdd('rc');
    await root.auth.roleGrantPermission('rc', { type: 'readwrite', prefix: 'c/' });
    await root.auth.userAdd(carol.username, carol.password);
    await root.auth.userGrantRole(carol.username, 'rc');
    const client = new Client({ endpoints: [...member.clientUrls], auth: carol });
    try {
      const lease = await client.leaseGrant(1);
      await client.put('c/leased', 'v').lease(lease.id);
      // Carol may no longer write c/: a revoke stamped with her name would now be refused.
      await root.auth.roleRevokePermission('rc', { prefix: 'c/' });
      await expect(client.put('c/other', 'v')).rejects.toBeInstanceOf(PermissionDeniedError);
      await waitFor(async () => {
        expect(await root.get('c/leased').string()).toBeUndefined();
      });
    } finally {
      client.destroy();
    }
  });
});
