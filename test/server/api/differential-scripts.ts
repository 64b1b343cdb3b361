/**
 * The scripted request sequences the differential test runs against both servers. Every
 * script uses its own key prefix; scripts run in this order on fresh servers, so revisions
 * line up between the two as long as both behave alike.
 */
import { Election } from '../../../src/gen/v3electionpb/v3election_pb.js';
import { Lock } from '../../../src/gen/v3lockpb/v3lock_pb.js';
import {
  AlarmRequest_AlarmAction, Auth, Compare_CompareResult, Compare_CompareTarget, KV, Lease, Maintenance, RangeRequest_SortOrder,
  RangeRequest_SortTarget, WatchCreateRequest_FilterType,
} from '../../../src/gen/etcdserverpb/rpc_pb.js';
import type { Script, ScriptContext } from './support/differential.js';

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const ZERO = new Uint8Array([0]);
const rev = (context: ScriptContext, result: { ok?: { header?: { revision: bigint } } } | object): bigint => {
  const header = 'ok' in result ? (result.ok as { header?: { revision: bigint } }).header : undefined;
  if (header === undefined) throw new Error(`no header revision in ${JSON.stringify(context.transcript.at(-1))}`);
  return header.revision;
};

const put = (c: ScriptContext, label: string, key: string, value: string, extra: Record<string, unknown> = {}) =>
  c.call(label, KV.method.put, { key: b(key), value: b(value), ...extra });
const txnOpPut = (key: string, value: string) => ({ request: { case: 'requestPut' as const, value: { key: b(key), value: b(value) } } });
const txnOpRange = (key: string, extra: Record<string, unknown> = {}) => ({ request: { case: 'requestRange' as const, value: { key: b(key), ...extra } } });
const txnOpDelete = (key: string, rangeEnd?: string) => ({ request: { case: 'requestDeleteRange' as const, value: { key: b(key), ...(rangeEnd === undefined ? {} : { rangeEnd: b(rangeEnd) }) } } });
const valueEquals = (key: string, value: string) => ({ key: b(key), target: Compare_CompareTarget.VALUE, result: Compare_CompareResult.EQUAL, targetUnion: { case: 'value' as const, value: b(value) } });
const createIs = (key: string, revision: bigint, result = Compare_CompareResult.EQUAL, rangeEnd?: string) => ({
  key: b(key), target: Compare_CompareTarget.CREATE, result, targetUnion: { case: 'createRevision' as const, value: revision }, ...(rangeEnd === undefined ? {} : { rangeEnd: b(rangeEnd) }),
});

/** Polls (unrecorded) until `count` keys exist under `prefix`: orders a concurrent request before the next step. */
async function untilKeys(c: ScriptContext, prefix: string, count: number): Promise<void> {
  const end = Buffer.from(prefix, 'latin1');
  end[end.length - 1]! += 1;
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const res = await c.client.unary(KV.method.range, { key: b(prefix), rangeEnd: new Uint8Array(end), countOnly: true });
    if ('ok' in res && res.ok.count >= BigInt(count)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${count} keys under ${prefix} never appeared`);
}

export const scripts: Record<string, Script> = {
  async 'put and get: prev_kv, versions, historical reads, count and keys only'(c) {
    const first = await put(c, 'put a=1', 'pg/a', '1');
    await put(c, 'put a=2 prev_kv', 'pg/a', '2', { prevKv: true });
    await put(c, 'put b', 'pg/b', 'x');
    await c.call('get a', KV.method.range, { key: b('pg/a') });
    await c.call('get a at first revision', KV.method.range, { key: b('pg/a'), revision: rev(c, first) });
    await c.call('get missing', KV.method.range, { key: b('pg/zz') });
    await c.call('count only', KV.method.range, { key: b('pg/'), rangeEnd: b('pg0'), countOnly: true });
    await c.call('keys only', KV.method.range, { key: b('pg/'), rangeEnd: b('pg0'), keysOnly: true });
    await c.call('serializable get', KV.method.range, { key: b('pg/a'), serializable: true });
  },

  async 'range options: limit, sort, filters, from-key'(c) {
    for (const [key, value] of [['ro/c', '1'], ['ro/a', '3'], ['ro/b', '2'], ['ro/a', '4']] as const) await put(c, `put ${key}`, key, value);
    const range = { key: b('ro/'), rangeEnd: b('ro0') };
    await c.call('limit 2', KV.method.range, { ...range, limit: 2n });
    await c.call('sort create desc', KV.method.range, { ...range, sortTarget: RangeRequest_SortTarget.CREATE, sortOrder: RangeRequest_SortOrder.DESCEND });
    await c.call('sort value asc limit 1', KV.method.range, { ...range, sortTarget: RangeRequest_SortTarget.VALUE, sortOrder: RangeRequest_SortOrder.ASCEND, limit: 1n });
    await c.call('sort mod with no order', KV.method.range, { ...range, sortTarget: RangeRequest_SortTarget.MOD });
    await c.call('sort key descend', KV.method.range, { ...range, sortOrder: RangeRequest_SortOrder.DESCEND });
    await c.call('sort version descend', KV.method.range, { ...range, sortTarget: RangeRequest_SortTarget.VERSION, sortOrder: RangeRequest_SortOrder.DESCEND, limit: 1n });
    const all = await c.call('all of prefix', KV.method.range, range);
    const top = 'ok' in all ? all.ok.header!.revision : 0n;
    await c.call('min mod revision', KV.method.range, { ...range, minModRevision: top - 1n });
    await c.call('max create revision', KV.method.range, { ...range, maxCreateRevision: top - 2n });
    await c.call('from key', KV.method.range, { key: b('ro/b'), rangeEnd: ZERO, keysOnly: true, limit: 2n });
  },

  async 'delete: single, missing, range with prev_kv'(c) {
    for (const key of ['dl/a', 'dl/b', 'dl/c']) await put(c, `put ${key}`, key, key);
    await c.call('delete single', KV.method.deleteRange, { key: b('dl/a') });
    await c.call('delete missing keeps the revision', KV.method.deleteRange, { key: b('dl/a') });
    await c.call('delete range prev_kv', KV.method.deleteRange, { key: b('dl/'), rangeEnd: b('dl0'), prevKv: true });
    await c.call('range after', KV.method.range, { key: b('dl/'), rangeEnd: b('dl0') });
  },

  async 'txn: branches, reads of own writes, ranges in compares, nesting, read-only'(c) {
    await put(c, 'seed', 'tx/k', 'v1');
    await c.call('success branch sees its put', KV.method.txn, { compare: [valueEquals('tx/k', 'v1')], success: [txnOpPut('tx/k', 'v2'), txnOpRange('tx/k')], failure: [txnOpRange('tx/k')] });
    await c.call('failure branch', KV.method.txn, { compare: [valueEquals('tx/k', 'v1')], success: [txnOpPut('tx/k', 'v3')], failure: [txnOpRange('tx/k')] });
    await c.call('create == 0 on a missing key', KV.method.txn, { compare: [createIs('tx/new', 0n)], success: [txnOpPut('tx/new', 'n')] });
    await c.call('value compare on a missing key fails', KV.method.txn, { compare: [valueEquals('tx/none', '')], success: [txnOpPut('tx/none', 'x')], failure: [] });
    await c.call('compare over a range', KV.method.txn, { compare: [createIs('tx/', 0n, Compare_CompareResult.GREATER, 'tx0')], success: [txnOpRange('tx/', { rangeEnd: b('tx0'), countOnly: true })] });
    await c.call('nested txn', KV.method.txn, {
      compare: [],
      success: [{ request: { case: 'requestTxn', value: { compare: [valueEquals('tx/k', 'v2')], success: [txnOpPut('tx/nested', 'yes'), txnOpDelete('tx/new')], failure: [] } } }, txnOpRange('tx/nested')],
    });
    await c.call('read-only txn leaves the revision', KV.method.txn, { compare: [valueEquals('tx/k', 'v2')], success: [txnOpRange('tx/k'), txnOpRange('tx/nested')] });
    await c.call('empty txn', KV.method.txn, {});
  },

  async 'request errors: codes and messages'(c) {
    await c.call('put empty key', KV.method.put, { key: new Uint8Array(0), value: b('x') });
    await c.call('range empty key', KV.method.range, { key: new Uint8Array(0) });
    await c.call('delete empty key', KV.method.deleteRange, { key: new Uint8Array(0) });
    await c.call('ignore_value with a value', KV.method.put, { key: b('er/k'), value: b('x'), ignoreValue: true });
    await c.call('ignore_lease with a lease', KV.method.put, { key: b('er/k'), lease: 5n, ignoreLease: true });
    await c.call('ignore_value on a missing key', KV.method.put, { key: b('er/missing'), ignoreValue: true });
    await c.call('put with an unknown lease', KV.method.put, { key: b('er/k'), value: b('x'), lease: 12345n });
    await c.call('duplicate key in a txn', KV.method.txn, { success: [txnOpPut('er/d', '1'), txnOpPut('er/d', '2')] });
    await c.call('put inside a delete in a txn', KV.method.txn, { success: [txnOpDelete('er/', 'er0'), txnOpPut('er/d', '2')] });
    await c.call('too many ops', KV.method.txn, { success: Array.from({ length: 129 }, (_, i) => txnOpPut(`er/op${i}`, 'v')) });
    await c.call('empty request op', KV.method.txn, { success: [{}] });
    await c.call('compare with an empty key', KV.method.txn, { compare: [valueEquals('', 'x')] });
    const now = await c.call('current', KV.method.range, { key: b('er/k') });
    await c.call('range at a future revision', KV.method.range, { key: b('er/k'), revision: rev(c, now) + 10n });
    await c.call('compact to a future revision', KV.method.compact, { revision: rev(c, now) + 10n });
  },

  async 'compaction and history'(c) {
    await put(c, 'v1', 'cp/k', 'v1');
    const second = await put(c, 'v2', 'cp/k', 'v2');
    await put(c, 'v3', 'cp/k', 'v3');
    await c.call('compact at v2', KV.method.compact, { revision: rev(c, second) });
    await c.call('read at the compaction revision', KV.method.range, { key: b('cp/k'), revision: rev(c, second) });
    await c.call('read below it', KV.method.range, { key: b('cp/k'), revision: rev(c, second) - 1n });
    await c.call('compact again at the same revision', KV.method.compact, { revision: rev(c, second) });
    await c.call('txn reading compacted history', KV.method.txn, { success: [txnOpRange('cp/k', { revision: rev(c, second) - 1n })] });
  },

  async 'put options: ignore_value, ignore_lease, lease detach'(c) {
    const grant = await c.call('grant', Lease.method.leaseGrant, { TTL: 60n });
    if (!('ok' in grant)) throw new Error('grant failed');
    c.vars.set('lease', grant.ok.ID);
    await put(c, 'put with lease', 'po/k', 'v1', { lease: c.lease('lease') });
    await c.call('ignore_value keeps value', KV.method.put, { key: b('po/k'), ignoreValue: true, lease: c.lease('lease'), prevKv: true });
    await c.call('ignore_lease keeps lease', KV.method.put, { key: b('po/k'), value: b('v2'), ignoreLease: true });
    await c.call('get', KV.method.range, { key: b('po/k') });
    await put(c, 'lease 0 detaches', 'po/k', 'v3');
    await c.call('timetolive keys after detach', Lease.method.leaseTimeToLive, { ID: c.lease('lease'), keys: true }, { ignore: ['TTL'], unordered: ['keys'] });
    await c.call('revoke', Lease.method.leaseRevoke, { ID: c.lease('lease') });
  },

  async 'leases: grant, minimum TTL, ids, errors, keep-alive, revoke with keys'(c) {
    // The 2 s lease is revoked at once: under load it could expire on etcd mid-script.
    const short = await c.call('grant ttl 1 becomes the minimum', Lease.method.leaseGrant, { TTL: 1n });
    if (!('ok' in short)) throw new Error('grant failed');
    await c.call('revoke short', Lease.method.leaseRevoke, { ID: short.ok.ID });
    await c.call('grant with an explicit id', Lease.method.leaseGrant, { TTL: 30n, ID: 0x7777n });
    await c.call('grant an id in use', Lease.method.leaseGrant, { TTL: 30n, ID: 0x7777n });
    await c.call('grant a too large TTL', Lease.method.leaseGrant, { TTL: 9_000_000_001n });
    await put(c, 'attach a', 'ls/a', 'a', { lease: 0x7777n });
    await put(c, 'attach b', 'ls/b', 'b', { lease: 0x7777n });
    await c.call('timetolive with keys', Lease.method.leaseTimeToLive, { ID: 0x7777n, keys: true }, { ignore: ['TTL'], unordered: ['keys'] });
    await c.call('timetolive unknown', Lease.method.leaseTimeToLive, { ID: 0x1234n });
    const keepAlive = c.client.duplex(Lease.method.leaseKeepAlive);
    try {
      keepAlive.send({ ID: 0x7777n });
      const live = await keepAlive.next();
      c.record('keepalive live lease', { ID: c.ids.name(live.ID), TTL: live.TTL.toString() });
      await c.call('revoke deletes its keys in one revision', Lease.method.leaseRevoke, { ID: 0x7777n });
      keepAlive.send({ ID: 0x7777n });
      const gone = await keepAlive.next();
      c.record('keepalive revoked lease', { ID: c.ids.name(gone.ID), TTL: gone.TTL.toString() });
    } finally {
      keepAlive.close();
    }
    await c.call('keys gone', KV.method.range, { key: b('ls/'), rangeEnd: b('ls0') });
    await c.call('revoke unknown', Lease.method.leaseRevoke, { ID: 0x7777n });
  },

  async 'watch: history with prev_kv, live events, cancel'(c) {
    const start = await put(c, 'put a', 'wh/a', '1');
    await put(c, 'put a again', 'wh/a', '2');
    await c.call('delete a', KV.method.deleteRange, { key: b('wh/a') });
    const w = c.watch('stream');
    w.create({ key: b('wh/'), rangeEnd: b('wh0'), startRevision: rev(c, start), prevKv: true });
    await w.take('created');
    await w.events('history', 3);
    await put(c, 'live put', 'wh/b', 'x');
    await w.take('live event');
    w.cancel(0n);
    await w.take('canceled');
  },

  async 'watch: filters, ids chosen by the client and the server, create failures'(c) {
    const w = c.watch('stream');
    w.create({ key: b('wf/k'), filters: [WatchCreateRequest_FilterType.NOPUT] });
    await w.take('created noput (id 0)');
    w.create({ key: b('wf/k'), filters: [WatchCreateRequest_FilterType.NODELETE], watchId: 7n });
    await w.take('created nodelete with id 7');
    w.create({ key: b('wf/k'), watchId: 7n });
    await w.take('duplicate id 7');
    w.create({ key: b('wf/z'), rangeEnd: b('wf/a') });
    await w.take('empty range');
    w.create({ key: b('wf/k') });
    await w.take('next server id');
    await put(c, 'put', 'wf/k', 'v');
    await w.events('put seen by nodelete and plain', 2);
    await c.call('delete', KV.method.deleteRange, { key: b('wf/k') });
    await w.events('delete seen by noput and plain', 2);
    w.progress();
    await w.take('progress with every watcher synced');
  },

  async 'watch: compacted start revision and future start revision'(c) {
    await put(c, 'v1', 'wc/k', '1');
    const second = await put(c, 'v2', 'wc/k', '2');
    await c.call('compact', KV.method.compact, { revision: rev(c, second) });
    const w = c.watch('stream');
    w.create({ key: b('wc/k'), startRevision: rev(c, second) - 1n });
    await w.take('created then compaction cancel', 2);
    w.create({ key: b('wc/k'), startRevision: rev(c, second) + 2n });
    await w.take('future start created');
    await put(c, 'v3 (not yet at the start revision)', 'wc/k', '3');
    await put(c, 'v4', 'wc/k', '4');
    await w.take('only the revision at or after the start');
  },

  async 'auth while disabled'(c) {
    await c.call('authenticate', Auth.method.authenticate, { name: 'root', password: 'x' });
    await c.call('auth enable without root', Auth.method.authEnable, {});
    await c.call('auth disable', Auth.method.authDisable, {});
    await c.call('user list', Auth.method.userList, {});
    await c.call('role list', Auth.method.roleList, {});
    await c.call('user get', Auth.method.userGet, { name: 'nobody' });
    await c.call('role get', Auth.method.roleGet, { role: 'nothing' });
    await c.call('user delete', Auth.method.userDelete, { name: 'nobody' });
    await c.call('user add with an empty name', Auth.method.userAdd, { name: '' });
  },

  async 'alarms: list'(c) {
    // etcd 3.4 sends Alarm responses without a header; 3.5 fills it, and so do we.
    await c.call('list', Maintenance.method.alarm, { action: AlarmRequest_AlarmAction.GET }, { ignore: ['header'] });
  },

  async 'v3lock and v3election services'(c) {
    const grant = await c.call('grant', Lease.method.leaseGrant, { TTL: 60n });
    if (!('ok' in grant)) throw new Error('grant failed');
    c.vars.set('lease', grant.ok.ID);
    const lock = await c.call('lock', Lock.method.lock, { name: b('vl/name'), lease: c.lease('lease') });
    await c.call('lock again with the same lease', Lock.method.lock, { name: b('vl/name'), lease: c.lease('lease') });
    if ('ok' in lock) await c.call('unlock', Lock.method.unlock, { key: lock.ok.key });
    await c.call('no leader yet', Election.method.leader, { name: b('ve/e') });
    const campaign = await c.call('campaign', Election.method.campaign, { name: b('ve/e'), lease: c.lease('lease'), value: b('one') });
    await c.call('leader', Election.method.leader, { name: b('ve/e') });
    if ('ok' in campaign) {
      await c.call('proclaim', Election.method.proclaim, { leader: campaign.ok.leader!, value: b('two') });
      await c.call('leader after proclaim', Election.method.leader, { name: b('ve/e') });
      await c.call('resign', Election.method.resign, { leader: campaign.ok.leader! });
      await c.call('proclaim after resign', Election.method.proclaim, { leader: campaign.ok.leader!, value: b('three') });
    }
    await c.call('proclaim without a leader', Election.method.proclaim, { value: b('x') });
    await c.call('revoke', Lease.method.leaseRevoke, { ID: c.lease('lease') });
  },

  async 'txn: version, mod and lease compares; binary keys and prefix ends'(c) {
    const grant = await c.call('grant', Lease.method.leaseGrant, { TTL: 60n });
    if (!('ok' in grant)) throw new Error('grant failed');
    c.vars.set('lease', grant.ok.ID);
    const first = await put(c, 'put binary key', 'bn/\xff\x00a', 'v', { lease: c.lease('lease') });
    await put(c, 'put \xff\xff key', 'bn/\xff\xff', 'w');
    await c.call('prefix of a key ending in 0xff', KV.method.range, { key: b('bn/\xff'), rangeEnd: b('bn0') });
    await c.call('version > 0', KV.method.txn, { compare: [{ key: b('bn/\xff\x00a'), target: Compare_CompareTarget.VERSION, result: Compare_CompareResult.GREATER, targetUnion: { case: 'version', value: 0n } }], success: [txnOpRange('bn/\xff\xff')] });
    await c.call('mod == first put', KV.method.txn, { compare: [{ key: b('bn/\xff\x00a'), target: Compare_CompareTarget.MOD, result: Compare_CompareResult.EQUAL, targetUnion: { case: 'modRevision', value: rev(c, first) } }], success: [txnOpPut('bn/m', '1')] });
    await c.call('lease == granted', KV.method.txn, { compare: [{ key: b('bn/\xff\x00a'), target: Compare_CompareTarget.LEASE, result: Compare_CompareResult.EQUAL, targetUnion: { case: 'lease', value: c.lease('lease') } }], success: [txnOpPut('bn/l', '1')] });
    await c.call('lease != on a key without one', KV.method.txn, { compare: [{ key: b('bn/m'), target: Compare_CompareTarget.LEASE, result: Compare_CompareResult.NOT_EQUAL, targetUnion: { case: 'lease', value: 0n } }], success: [txnOpPut('bn/x', '1')], failure: [txnOpRange('bn/m')] });
    await c.call('value less', KV.method.txn, { compare: [{ key: b('bn/m'), target: Compare_CompareTarget.VALUE, result: Compare_CompareResult.LESS, targetUnion: { case: 'value', value: b('2') } }], success: [txnOpDelete('bn/', 'bn0')] });
    await c.call('revoke', Lease.method.leaseRevoke, { ID: c.lease('lease') });
  },

  async 'keys: delete and re-create, history of a deleted key'(c) {
    const created = await put(c, 'create', 'rc/k', '1');
    await put(c, 'update', 'rc/k', '2');
    const deleted = await c.call('delete', KV.method.deleteRange, { key: b('rc/k'), prevKv: true });
    await put(c, 're-create', 'rc/k', '3');
    await c.call('get', KV.method.range, { key: b('rc/k') });
    await c.call('get before the delete', KV.method.range, { key: b('rc/k'), revision: rev(c, deleted) - 1n });
    await c.call('get at the delete', KV.method.range, { key: b('rc/k'), revision: rev(c, deleted) });
    await c.call('get at creation', KV.method.range, { key: b('rc/k'), revision: rev(c, created) });
    const w = c.watch('stream');
    w.create({ key: b('rc/k'), startRevision: rev(c, created), prevKv: true });
    await w.take('created');
    await w.events('whole history', 4);
  },

  async 'v3lock: a second Lock waits for the first Unlock'(c) {
    const leases: bigint[] = [];
    for (const label of ['grant 1', 'grant 2']) {
      const grant = await c.call(label, Lease.method.leaseGrant, { TTL: 60n });
      if (!('ok' in grant)) throw new Error('grant failed');
      leases.push(grant.ok.ID);
    }
    const first = await c.call('first lock', Lock.method.lock, { name: b('wl/m'), lease: leases[0]! });
    const second = c.client.unary(Lock.method.lock, { name: b('wl/m'), lease: leases[1]! });
    await untilKeys(c, 'wl/m/', 2);
    await c.call('both keys are queued', KV.method.range, { key: b('wl/m/'), rangeEnd: b('wl/m0'), keysOnly: true });
    if ('ok' in first) await c.call('first unlock', Lock.method.unlock, { key: first.ok.key });
    const got = await second;
    c.record('second lock', 'ok' in got ? { key: c.ids.rewriteKey(Buffer.from(got.ok.key).toString('latin1')), revision: got.ok.header!.revision.toString() } : got);
    for (const id of leases) await c.call('revoke', Lease.method.leaseRevoke, { ID: id });
  },

  async 'v3election: observe streams the leader, proclamations and the next leader'(c) {
    const leases: bigint[] = [];
    for (const label of ['grant 1', 'grant 2']) {
      const grant = await c.call(label, Lease.method.leaseGrant, { TTL: 60n });
      if (!('ok' in grant)) throw new Error('grant failed');
      leases.push(grant.ok.ID);
    }
    const one = await c.call('campaign one', Election.method.campaign, { name: b('ob/e'), lease: leases[0]!, value: b('one') });
    const observe = c.client.serverStream(Election.method.observe, { name: b('ob/e') });
    const take = async (label: string): Promise<void> => {
      const response = await observe.next();
      c.record(label, { key: c.ids.rewriteKey(Buffer.from(response.kv!.key).toString('latin1')), value: Buffer.from(response.kv!.value).toString(), revision: response.header!.revision.toString() });
    };
    try {
      await take('observed first leader');
      const two = c.client.unary(Election.method.campaign, { name: b('ob/e'), lease: leases[1]!, value: b('two') });
      await untilKeys(c, 'ob/e/', 2); // the second candidate is queued before anything else happens
      if (!('ok' in one)) throw new Error('campaign failed');
      await c.call('proclaim', Election.method.proclaim, { leader: one.ok.leader!, value: b('one again') });
      await take('observed proclamation');
      await c.call('resign', Election.method.resign, { leader: one.ok.leader! });
      await take('observed next leader');
      const elected = await two;
      c.record('second campaign', 'ok' in elected ? { rev: elected.ok.leader!.rev.toString() } : elected);
    } finally {
      observe.close();
    }
    for (const id of leases) await c.call('revoke', Lease.method.leaseRevoke, { ID: id });
  },

  async 'v3lock and v3election without a lease get a session lease'(c) {
    // The key names a lease this response does not carry: it is compared through the range below.
    const lock = await c.call('lock without a lease', Lock.method.lock, { name: b('nl/m'), lease: 0n }, { ignore: ['key'] });
    await c.call('the lock key carries a new lease', KV.method.range, { key: b('nl/m/'), rangeEnd: b('nl/m0') });
    const campaign = await c.call('campaign without a lease', Election.method.campaign, { name: b('nl/e'), lease: 0n, value: b('v') });
    const leases = await c.call('two leases now', KV.method.range, { key: b('nl/'), rangeEnd: b('nl0'), keysOnly: true });
    if ('ok' in lock) await c.call('unlock', Lock.method.unlock, { key: lock.ok.key });
    if ('ok' in campaign) await c.call('resign', Election.method.resign, { leader: campaign.ok.leader! });
    if ('ok' in leases) for (const kv of leases.ok.kvs) await c.call('revoke', Lease.method.leaseRevoke, { ID: kv.lease });
  },

  async 'txn: a compare whose value does not match its target compares against zero'(c) {
    await put(c, 'seed', 'cu/k', 'v');
    await c.call('version target with a value union', KV.method.txn, {
      compare: [{ key: b('cu/k'), target: Compare_CompareTarget.VERSION, result: Compare_CompareResult.GREATER, targetUnion: { case: 'value', value: b('zzz') } }],
      success: [txnOpRange('cu/k', { keysOnly: true })], failure: [],
    });
    await c.call('mod target with no union', KV.method.txn, {
      compare: [{ key: b('cu/k'), target: Compare_CompareTarget.MOD, result: Compare_CompareResult.EQUAL }],
      success: [], failure: [txnOpRange('cu/k', { countOnly: true })],
    });
    await c.call('value target with no union on an existing key', KV.method.txn, {
      compare: [{ key: b('cu/k'), target: Compare_CompareTarget.VALUE, result: Compare_CompareResult.GREATER }],
      success: [txnOpPut('cu/k', 'w')], failure: [],
    });
  },

  async 'whole key space: count all, from-key delete, watch from the compaction revision'(c) {
    await c.call('count every key', KV.method.range, { key: ZERO, rangeEnd: ZERO, countOnly: true });
    for (const key of ['zk/a', 'zk/b', 'zk/c']) await put(c, `put ${key}`, key, key);
    await c.call('from-key delete of zk/b', KV.method.deleteRange, { key: b('zk/b'), rangeEnd: ZERO, prevKv: true });
    const last = await put(c, 'put zk/d', 'zk/d', 'd');
    await c.call('compact at the last revision', KV.method.compact, { revision: rev(c, last) });
    const w = c.watch('stream');
    w.create({ key: b('zk/'), rangeEnd: b('zk0'), startRevision: rev(c, last) });
    await w.take('created');
    await w.events('the event at the compaction revision', 1);
    await c.call('count every key again', KV.method.range, { key: ZERO, rangeEnd: ZERO, countOnly: true });
  },
};
