// The lease expiry flow as the server will drive it, with two members applying the same
// log (one per engine): the leader's lessor notices expiry on the fake clock and reports
// it; the "proposal" is appended to the log and applied on both members; a watcher on the
// follower sees all attached keys deleted in one response at one revision; both members
// end with equal HashKV and lease lists. Nothing here reads the wall clock.
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/base/clock.js';
import type { ApplyTxn } from '../../../src/mvcc/apply-txn.js';
import { MvccStore } from '../../../src/mvcc/kv-store.js';
import { WatchableStore } from '../../../src/mvcc/watchable-store.js';
import { Lessor } from '../../../src/server/lessor/lessor.js';
import { cleanup, engines } from '../../storage/backend/engines.js';

afterAll(cleanup);

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

type Entry = (member: MemberState, txn: ApplyTxn) => void;

interface MemberState {
  store: MvccStore;
  lessor: Lessor;
}

describe('lease expiry through the log', () => {
  it('revokes an expired lease on every member at the same revision', () => {
    const clock = new FakeClock(0);
    const log: Entry[] = [];
    const expiredReports: bigint[][] = [];
    const members: MemberState[] = engines.map((engine, i) => {
      const store = MvccStore.open(engine.create());
      const lessor = new Lessor(store, { clock, onExpired: (ids) => (i === 0 ? expiredReports.push(ids) : undefined) });
      return { store, lessor };
    });
    const applyNew = (): void => {
      for (const member of members) {
        for (let index = member.store.appliedPosition.index + 1; index <= log.length; index += 1) {
          const result = member.store.applyWith({ index, term: 1 }, (txn) => log[index - 1]!(member, txn));
          expect(result.kind).toBe('ok');
        }
      }
    };
    const follower = new WatchableStore(members[1]!.store);
    const watcher = follower.watch({ key: b('svc/'), rangeEnd: b('svc0') });

    log.push((m, txn) => void m.lessor.grant(txn, 0x10n, 5));
    for (const name of ['svc/c', 'svc/a', 'svc/b']) log.push((_m, txn) => void txn.execute({ put: { key: b(name), value: b('up'), lease: 0x10n } }));
    log.push((_m, txn) => void txn.execute({ put: { key: b('other'), value: b('x') } }));
    applyNew();
    members[0]!.lessor.promote(); // member 0 leads

    clock.advance(4_000);
    members[0]!.lessor.tick();
    expect(expiredReports).toEqual([]);
    clock.advance(1_000);
    members[0]!.lessor.tick();
    expect(expiredReports).toEqual([[0x10n]]);
    members[1]!.lessor.tick(); // a follower never reports
    for (const id of expiredReports[0]!) log.push((m, txn) => void m.lessor.revoke(txn, id));
    applyNew();

    const responses = [];
    for (let r = watcher.pull(); r !== undefined; r = watcher.pull()) responses.push(r);
    const last = responses[responses.length - 1]!;
    expect(last.events.map((e) => `${e.type} ${Buffer.from(e.kv.key).toString()}`)).toEqual(['delete svc/a', 'delete svc/b', 'delete svc/c']);
    expect(new Set(last.events.map((e) => e.kv.modRevision))).toEqual(new Set([last.revision]));
    const [leader, other] = members;
    expect(other!.store.hashKv()).toEqual(leader!.store.hashKv());
    expect(other!.lessor.leases()).toEqual([]);
    expect(leader!.store.range({ key: b('\0'), rangeEnd: new Uint8Array([0]) }).kvs.map((kv) => Buffer.from(kv.key).toString())).toEqual(['other']);
    clock.advance(10_000);
    members[0]!.lessor.tick();
    expect(expiredReports).toHaveLength(1); // revoked: not reported again
  });
});
