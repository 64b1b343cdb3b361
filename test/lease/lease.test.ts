// Method: a real etcd member. Keep-alives are observed through the server (TimeToLive) and
// through the lease's signal; loss is provoked three ways: revoking the lease from another
// client (server answers TTL 0), letting an injected FakeClock pass the TTL with no
// confirmed renewal (local deadline), and closing the client (session leases revoked).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/index.js';
import { Client } from '../../src/client/index.js';
import { Lease, Session } from '../../src/lease/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd');

describe.skipIf(skip !== undefined)('Lease and Session against etcd', () => {
  let etcd: EtcdCluster;
  let admin: Client;

  beforeAll(async () => {
    etcd = await startEtcd();
    admin = new Client({ endpoints: etcd.endpoints });
  });

  afterAll(async () => {
    await admin?.close();
    await etcd?.stop();
  });

  it('keeps several leases alive on one multiplexed stream', async () => {
    const client = new Client({ endpoints: etcd.endpoints });
    try {
      const leases = await Promise.all([1, 2, 3].map(() => Lease.grant(client, { ttlSeconds: 2 })));
      expect(leases.every((l) => typeof l.id === 'bigint' && l.ttlSeconds === 2)).toBe(true);
      const firstDeadlines = leases.map((l) => l.deadlineMs);
      // Renewals go out every TTL/3; wait until each lease's deadline has moved twice.
      await waitFor(() => leases.forEach((l, i) => expect(l.deadlineMs).toBeGreaterThan(firstDeadlines[i]! + 1000)), { timeout: 5_000, interval: 50 });
      for (const lease of leases) {
        expect(lease.lost).toBe(false);
        expect((await admin.leaseTimeToLive(lease.id)).ttlSeconds).toBeGreaterThan(0);
      }
      expect(client.streamStats().keepAliveStreams).toBe(1);
      expect(client.streamStats().keptAlive).toBe(3);
    } finally {
      await client.close();
    }
  });

  it('aborts the signal when the server reports the lease gone', async () => {
    const client = new Client({ endpoints: etcd.endpoints });
    try {
      const lease = await Lease.grant(client, { ttlSeconds: 2 });
      await admin.leaseRevoke(lease.id);
      await waitFor(() => expect(lease.lost).toBe(true), { timeout: 3_000, interval: 20 });
      expect(lease.signal.reason).toMatchObject({ code: 'ERR_LEASE_EXPIRED', leaseId: lease.id });
    } finally {
      await client.close();
    }
  });

  it('aborts the signal when the TTL passes on the local clock without a confirmed renewal', async () => {
    const clock = new FakeClock(1_000);
    const client = new Client({ endpoints: etcd.endpoints, clock });
    try {
      const lease = await Lease.grant(client, { ttlSeconds: 5 });
      expect(lease.deadlineMs).toBe(1_000 + 5_000);
      clock.advance(4_999);
      expect(lease.lost).toBe(false);
      // Renewals were sent at 1/3 and 2/3 of the TTL, but the fake clock moves faster than any
      // answer can arrive: the deadline passes with nothing confirmed.
      clock.advance(1);
      expect(lease.lost).toBe(true);
      expect(lease.signal.reason).toMatchObject({ code: 'ERR_LEASE_KEEPALIVE_TIMEOUT' });
    } finally {
      client.destroy();
    }
  });

  it('revokes session leases on session.close() and on client.close()', async () => {
    const client = new Client({ endpoints: etcd.endpoints });
    const s1 = await Session.create(client, { ttlSeconds: 10 });
    const s2 = await Session.create(client, { ttlSeconds: 10 });
    await client.put('lease4/k', 'v').lease(s1.leaseId);
    await s1.close();
    expect(s1.lost).toBe(true);
    expect(s1.signal.reason).toMatchObject({ code: 'ERR_LEASE_REVOKED' });
    expect((await admin.leaseTimeToLive(s1.leaseId)).ttlSeconds).toBe(-1);
    expect(await admin.get('lease4/k').string()).toBeUndefined();
    await client.close();
    expect(s2.lost).toBe(true);
    expect((await admin.leaseTimeToLive(s2.leaseId)).ttlSeconds).toBe(-1);
  });

  it('orphan() stops renewing without revoking', async () => {
    const client = new Client({ endpoints: etcd.endpoints });
    try {
      const session = await Session.create(client, { ttlSeconds: 30 });
      session.orphan();
      expect(session.signal.reason).toMatchObject({ code: 'ERR_LEASE_RELEASED' });
      expect((await admin.leaseTimeToLive(session.leaseId)).ttlSeconds).toBeGreaterThan(0);
      await admin.leaseRevoke(session.leaseId);
    } finally {
      await client.close();
    }
  });

  it('a new session can take over an orphaned lease and keep its keys', async () => {
    const first = new Client({ endpoints: etcd.endpoints });
    const old = await Session.create(first, { ttlSeconds: 5 });
    await first.put('lease6/k', 'v').lease(old.leaseId);
    old.orphan();
    first.destroy();
    const second = new Client({ endpoints: etcd.endpoints });
    try {
      const resumed = await Session.create(second, { leaseId: old.leaseId });
      expect(resumed.leaseId).toBe(old.leaseId);
      expect(resumed.ttlSeconds).toBe(5);
      const deadline = resumed.lease.deadlineMs;
      await waitFor(() => expect(resumed.lease.deadlineMs).toBeGreaterThan(deadline));
      expect(await admin.get('lease6/k').string()).toBe('v');
      await resumed.close();
      expect(await admin.get('lease6/k').string()).toBeUndefined();
      await expect(Session.create(second, { leaseId: old.leaseId })).rejects.toMatchObject({ code: 'ERR_LEASE_EXPIRED' });
    } finally {
      await second.close();
    }
  });

  it('validates options', async () => {
    const client = new Client({ endpoints: etcd.endpoints });
    try {
      await expect(Lease.grant(client, { ttlSeconds: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'ttlSeconds' });
      await expect(Session.create(client, { ttlSeconds: 1.5 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    } finally {
      await client.close();
    }
  });
});
