// A single member on real disk (temp directories), driven through the port the gRPC services
// use: writes go through raft and the WAL, linearizable reads wait on ReadIndex, a restart
// recovers everything acknowledged, on both backend engines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Member } from '../../src/server/member.js';
import type { MemberOptions } from '../../src/server/member-options.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const dirs: string[] = [];
const members: Member[] = [];
afterEach(async () => {
  for (const m of members.splice(0)) await m.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(options: Partial<MemberOptions> & { dataDir: string }): Promise<Member> {
  const member = await Member.start({ heartbeatIntervalMs: 10, electionTimeoutMs: 100, ...options });
  members.push(member);
  return member;
}

async function waitLeader(member: Member): Promise<void> {
  for (let i = 0; i < 200 && !member.isLeader(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(member.isLeader()).toBe(true);
}

for (const engine of ['memory', 'lmdb'] as const) {
  describe(`single member (${engine})`, () => {
    it('applies writes through raft, reads them linearizably, and recovers them after a restart', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'conclave-member-'));
      dirs.push(dataDir);
      let member = await start({ dataDir, engine, snapshotCount: 50 });
      await waitLeader(member);
      const results = await Promise.all(Array.from({ length: 120 }, (_, i) => member.propose({ case: 'put', value: { key: enc(`k${i}`), value: enc(`v${i}`) } as never })));
      expect(results).toHaveLength(120);
      await member.linearizableReadBarrier();
      const range = member.store.range({ key: enc('k'), rangeEnd: enc('l') });
      expect(range.count).toBe(120);
      const revision = member.store.currentRevision;
      const lease = (await member.propose({ case: 'leaseGrant', value: { ID: 0n, TTL: 60n } as never })) as { id: bigint };
      expect(lease).toBeDefined();
      await member.close();
      members.splice(members.indexOf(member), 1);
      member = await start({ dataDir, engine, snapshotCount: 50 });
      await waitLeader(member);
      await member.linearizableReadBarrier();
      expect(member.store.currentRevision).toBe(revision);
      expect(dec(member.store.range({ key: enc('k7') }).kvs[0]!.value)).toBe('v7');
      expect(member.members()).toHaveLength(1);
    }, 30_000);
  });
}
