// Example-based checks of the KV store's etcd semantics (reference sections 2.1-2.6), each
// run on both engines: revision accounting, range options, put options, txn rules and
// errors with etcd's exact codes and texts. The random comparison with a reference model
// is in kv-model.property.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import {
  CompactedError, DuplicateKeyError, EmptyKeyError, FutureRevisionError, KeyNotFoundError, LeaseNotFoundError,
  LeaseProvidedError, TooManyOpsError, ValueProvidedError,
} from '../../src/mvcc/errors.js';
import { prefixEnd } from '../../src/mvcc/key-range.js';
import type { LeaseHooks } from '../../src/mvcc/kv-store.js';
import type { RequestOp, TxnResponse } from '../../src/mvcc/types.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { b, kvText, Log, s } from './helpers.js';

afterAll(cleanup);

const txnOf = (response: unknown): TxnResponse => (response as { txn: TxnResponse }).txn;

describe.each(engines)('MvccStore semantics on $name', (engine) => {
  const open = (leases?: LeaseHooks): Log => Log.open(engine.create(), leases === undefined ? {} : { leases });

  it('starts at revision 1 and bumps once per write, never for no-op deletes', () => {
    const log = open();
    expect(log.store.currentRevision).toBe(1);
    expect(log.put('a', '1')).toBe(2);
    expect(log.put('b', '2')).toBe(3);
    expect(log.put('a', '1')).toBe(4); // same value still counts
    expect(log.del('zz')).toBe(0);
    expect(log.store.currentRevision).toBe(4);
    expect(log.get('a')).toEqual(['a=1@2/4/2']);
    expect(log.del('a')).toBe(1);
    expect(log.put('a', 'x')).toBe(6);
    expect(log.get('a')).toEqual(['a=x@6/6/1']); // create revision resets after delete
    expect(log.get('a', 4)).toEqual(['a=1@2/4/2']);
    expect(log.get('a', 5)).toEqual([]);
  });

  it('resolves range_end conventions: single key, prefix, from-key, empty', () => {
    const log = open();
    for (const key of ['a', 'aa', 'ab', 'a\xff', 'b', '\xff']) log.put(key, key);
    const keys = (key: string, rangeEnd?: Uint8Array): string[] =>
      log.store.range({ key: b(key), ...(rangeEnd === undefined ? {} : { rangeEnd }) }).kvs.map((kv) => s(kv.key));
    expect(keys('a')).toEqual(['a']);
    expect(keys('a', prefixEnd(b('a')))).toEqual(['a', 'aa', 'ab', 'a\xff']);
    expect(s(prefixEnd(b('a\xff')))).toBe('b');
    expect([...prefixEnd(b('\xff\xff'))]).toEqual([0]);
    expect(keys('b', new Uint8Array([0]))).toEqual(['b', '\xff']);
    expect(keys('\x00', new Uint8Array([0]))).toHaveLength(6);
    expect(keys('b', b('a'))).toEqual([]);
  });

  it('applies limit, count, sort, keys_only, count_only and revision filters', () => {
    const log = open();
    log.put('k1', 'c'); // rev 2
    log.put('k2', 'a'); // rev 3
    log.put('k3', 'b'); // rev 4
    log.put('k1', 'd'); // rev 5, k1 version 2
    const all = { key: b('k'), rangeEnd: prefixEnd(b('k')) };
    const limited = log.store.range({ ...all, limit: 2 });
    expect(limited.kvs.map(kvText)).toEqual(['k1=d@2/5/2', 'k2=a@3/3/1']);
    expect([limited.more, limited.count, limited.revision]).toEqual([true, 3, 5]);
    const keys = (extra: object): string[] => log.store.range({ ...all, ...extra }).kvs.map((kv) => s(kv.key));
    expect(keys({ sortOrder: 'descend' })).toEqual(['k3', 'k2', 'k1']);
    expect(keys({ sortTarget: 'value' })).toEqual(['k2', 'k3', 'k1']); // none + non-key target = ascend
    expect(keys({ sortTarget: 'value', sortOrder: 'descend' })).toEqual(['k1', 'k3', 'k2']);
    expect(keys({ sortTarget: 'version', sortOrder: 'descend', limit: 1 })).toEqual(['k1']);
    expect(keys({ sortTarget: 'create', sortOrder: 'descend' })).toEqual(['k3', 'k2', 'k1']);
    expect(keys({ sortTarget: 'mod', sortOrder: 'ascend' })).toEqual(['k2', 'k3', 'k1']);
    expect(keys({ minModRevision: 4 })).toEqual(['k1', 'k3']);
    expect(keys({ maxCreateRevision: 3 })).toEqual(['k1', 'k2']);
    const filtered = log.store.range({ ...all, minCreateRevision: 3, limit: 1 });
    expect([filtered.count, filtered.more, filtered.kvs.length]).toEqual([3, true, 1]);
    expect(log.store.range({ ...all, keysOnly: true }).kvs.map(kvText)).toEqual(['k1=@2/5/2', 'k2=@3/3/1', 'k3=@4/4/1']);
    const counted = log.store.range({ ...all, countOnly: true });
    expect([counted.kvs.length, counted.count]).toEqual([0, 3]);
    expect(log.store.range({ ...all, revision: 3 }).kvs.map(kvText)).toEqual(['k1=c@2/2/1', 'k2=a@3/3/1']);
    expect(log.store.range({ ...all, revision: 3 }).revision).toBe(5); // header: current revision
  });

  it('answers future and compacted revisions with etcd errors, allowing reads at the compaction point', () => {
    const log = open();
    log.put('a', '1');
    log.put('b', '2');
    log.put('a', '3'); // rev 4
    const future = (() => { try { log.get('a', 1000); } catch (error) { return error; } })() as FutureRevisionError;
    expect(future).toBeInstanceOf(FutureRevisionError);
    expect([future.grpcCode, future.grpcMessage]).toEqual([11, 'etcdserver: mvcc: required revision is a future revision']);
    log.compact(3);
    expect(() => log.get('a', 2)).toThrow(CompactedError);
    expect(log.get('a', 3)).toEqual(['a=1@2/2/1']);
    expect(() => log.compact(2)).toThrow('etcdserver: mvcc: required revision has been compacted');
    expect(() => log.compact(3)).toThrow(CompactedError);
    expect(() => log.compact(10_000)).toThrow(FutureRevisionError);
    expect(log.store.currentRevision).toBe(4);
  });

  it('puts with prev_kv, ignore_value, ignore_lease and leases', () => {
    const attached: string[] = [];
    const leases: LeaseHooks = {
      exists: (id) => id === 7n || id === 8n,
      attach: (id, key) => attached.push(`+${id}:${key}`),
      detach: (id, key) => attached.push(`-${id}:${key}`),
    };
    const log = open(leases);
    expect(() => log.apply({ put: { key: b('x'), value: b('y'), lease: 99n } })).toThrow(LeaseNotFoundError);
    expect(log.store.currentRevision).toBe(1);
    log.put('k', 'v1', { lease: 7n });
    const withPrev = log.apply({ put: { key: b('k'), value: b('v2'), prevKv: true, ignoreLease: true } });
    expect('put' in withPrev && withPrev.put.prevKv !== undefined && kvText(withPrev.put.prevKv)).toBe('k=v1@2/2/1/L7');
    log.apply({ put: { key: b('k'), ignoreValue: true, lease: 8n } });
    expect(log.get('k')).toEqual(['k=v2@2/4/3/L8']);
    log.apply({ put: { key: b('k'), value: b('v3') } }); // lease 0 detaches
    expect(log.get('k')).toEqual(['k=v3@2/5/4']);
    expect(attached).toEqual(['+7:k', '-7:k', '+8:k', '-8:k']);
    expect(() => log.apply({ put: { key: b('nokey'), ignoreValue: true } })).toThrow(KeyNotFoundError);
    expect(() => log.apply({ put: { key: b('k'), value: b('v'), ignoreValue: true } })).toThrow(ValueProvidedError);
    expect(() => log.apply({ put: { key: b('k'), lease: 7n, ignoreLease: true } })).toThrow(LeaseProvidedError);
    expect(() => log.apply({ put: { key: new Uint8Array(0), value: b('v') } })).toThrow(EmptyKeyError);
  });

  it('deletes ranges with prev_kv in one revision', () => {
    const log = open();
    log.put('a', '1');
    log.put('b', '2');
    log.put('c', '3');
    const response = log.apply({ deleteRange: { key: b('a'), rangeEnd: b('c'), prevKv: true } });
    expect('deleteRange' in response && [response.deleteRange.deleted, response.deleteRange.revision, response.deleteRange.prevKvs.map(kvText)])
      .toEqual([2, 5, ['a=1@2/2/1', 'b=2@3/3/1']]);
    expect(log.store.range({ key: b('\0'), rangeEnd: new Uint8Array([0]) }).kvs.map(kvText)).toEqual(['c=3@4/4/1']);
  });

  it('runs txns: compares, one bump, later ops see earlier writes, read-only txns do not bump', () => {
    const log = open();
    log.put('a', '1'); // rev 2
    const created = txnOf(log.apply({ txn: {
      compare: [{ key: b('c'), target: 'create', result: 'equal', createRevision: 0 }],
      success: [{ put: { key: b('c'), value: b('x') } }, { put: { key: b('d'), value: b('y') } }, { range: { key: b('c') } }],
    } }));
    expect(created.succeeded).toBe(true);
    expect(created.revision).toBe(3);
    expect(log.get('c')).toEqual(['c=x@3/3/1']);
    expect(log.get('d')).toEqual(['d=y@3/3/1']);
    const inner = created.responses[2] as { range: { kvs: Parameters<typeof kvText>[0][] } };
    expect(inner.range.kvs.map(kvText)).toEqual(['c=x@3/3/1']);
    const readOnly = txnOf(log.apply({ txn: { compare: [{ key: b('a'), target: 'value', result: 'equal', value: b('nope') }], failure: [{ range: { key: b('a') } }] } }));
    expect([readOnly.succeeded, readOnly.revision, log.store.currentRevision]).toEqual([false, 3, 3]);
    const deleteNothing = txnOf(log.apply({ txn: { success: [{ deleteRange: { key: b('zz') } }] } }));
    expect([deleteNothing.succeeded, deleteNothing.revision]).toEqual([true, 3]);
  });

  it('compares every target and result, over ranges and missing keys', () => {
    const log = open({ exists: () => true, attach: () => {}, detach: () => {} });
    log.put('k1', 'b', { lease: 5n }); // rev 2
    log.put('k2', 'c'); // rev 3
    const holds = (compare: object): boolean => txnOf(log.apply({ txn: { compare: [compare as never] } })).succeeded;
    expect(holds({ key: b('k1'), target: 'value', result: 'equal', value: b('b') })).toBe(true);
    expect(holds({ key: b('k1'), target: 'value', result: 'greater', value: b('a') })).toBe(true);
    expect(holds({ key: b('k1'), target: 'value', result: 'less', value: b('a') })).toBe(false);
    expect(holds({ key: b('k1'), target: 'version', result: 'not_equal', version: 2 })).toBe(true);
    expect(holds({ key: b('k1'), target: 'mod', result: 'less', modRevision: 3 })).toBe(true);
    expect(holds({ key: b('k1'), target: 'lease', result: 'equal', lease: 5n })).toBe(true);
    expect(holds({ key: b('nope'), target: 'version', result: 'equal', version: 0 })).toBe(true);
    expect(holds({ key: b('nope'), target: 'value', result: 'not_equal', value: b('x') })).toBe(false); // value on a missing key fails
    expect(holds({ key: b('k'), rangeEnd: b('l'), target: 'create', result: 'greater', createRevision: 1 })).toBe(true);
    expect(holds({ key: b('k'), rangeEnd: b('l'), target: 'create', result: 'greater', createRevision: 2 })).toBe(false);
    expect(holds({ key: b('x'), rangeEnd: b('y'), target: 'mod', result: 'equal', modRevision: 0 })).toBe(true);
  });

  it('evaluates nested txn compares against the state before the outer txn', () => {
    const log = open();
    const response = txnOf(log.apply({ txn: { success: [
      { put: { key: b('n'), value: b('1') } },
      { txn: { compare: [{ key: b('n'), target: 'version', result: 'equal', version: 0 }], success: [{ put: { key: b('m'), value: b('then') } }], failure: [{ put: { key: b('m'), value: b('else') } }] } },
    ] } }));
    expect(txnOf(response.responses[1]).succeeded).toBe(true);
    expect(log.get('m')).toEqual(['m=then@2/2/1']);
  });

  it('enforces the duplicate-key rule like etcd', () => {
    const log = open();
    const put = (key: string): RequestOp => ({ put: { key: b(key), value: b('v') } });
    const del = (key: string, end?: string): RequestOp => ({ deleteRange: { key: b(key), ...(end === undefined ? {} : { rangeEnd: b(end) }) } });
    const txn = (success: RequestOp[], failure: RequestOp[] = []): RequestOp => ({ txn: { success, failure } });
    const dup = (op: RequestOp): boolean => { try { log.apply(op); return false; } catch (error) { return error instanceof DuplicateKeyError; } };
    expect(dup(txn([put('k'), put('k')]))).toBe(true);
    expect(dup(txn([del('a', 'z'), put('k')]))).toBe(true);
    expect(dup(txn([put('k'), del('k')]))).toBe(true);
    expect(dup(txn([del('a', 'z'), del('b', 'y')]))).toBe(false); // overlapping deletes are fine
    expect(dup(txn([txn([put('k')], [put('k')])]))).toBe(false); // exclusive branches
    expect(dup(txn([txn([put('k')]), put('k')]))).toBe(true);
    expect(dup(txn([del('k'), txn([put('k')])]))).toBe(true);
    expect(dup(txn([put('k')], [put('k')]))).toBe(false); // success and failure are separate
    expect(dup(txn([del('a', '\0'), put('k')]))).toBe(false); // etcd's raw-interval quirk for from-key
  });

  it('refuses an ignore_value put that an earlier from-key delete of the same txn empties', () => {
    const log = open();
    log.put('k', 'v');
    expect(() => log.apply({ txn: { success: [
      { deleteRange: { key: b('a'), rangeEnd: new Uint8Array([0]) } },
      { put: { key: b('k'), ignoreValue: true } },
    ] } })).toThrow(KeyNotFoundError);
    expect(log.get('k')).toEqual(['k=v@2/2/1']);
  });

  it('enforces max txn ops as the largest of compare, success and failure, nested sharing the budget', () => {
    const log = Log.open(engine.create(), { maxTxnOps: 3 });
    const puts = (n: number, prefix: string): RequestOp[] => Array.from({ length: n }, (_, i) => ({ put: { key: b(`${prefix}${i}`), value: b('v') } }));
    expect(() => log.apply({ txn: { success: puts(4, 's') } })).toThrow(TooManyOpsError);
    expect(() => log.apply({ txn: { success: puts(3, 's'), failure: puts(3, 'f'), compare: [] } })).not.toThrow();
    // The outer txn uses 1 of 3, so a nested txn may use 2; with 2 outer ops it may use 1.
    expect(() => log.apply({ txn: { success: [{ txn: { success: puts(3, 'n') } }] } })).toThrow('etcdserver: too many operations in txn request');
    expect(() => log.apply({ txn: { success: [{ txn: { success: puts(2, 'n') } }] } })).not.toThrow();
    expect(() => log.apply({ txn: { success: [{ txn: { success: puts(2, 'm') } }, { put: { key: b('o'), value: b('v') } }] } })).toThrow(TooManyOpsError);
    expect(() => log.apply({ txn: { success: [{ txn: { success: puts(1, 'm') } }, { put: { key: b('o'), value: b('v') } }] } })).not.toThrow();
  });

  it('checks leases and ignore_* only on the taken branch, leaving no change on error', () => {
    const log = open({ exists: () => false, attach: () => {}, detach: () => {} });
    const response = txnOf(log.apply({ txn: {
      compare: [{ key: b('a'), target: 'version', result: 'equal', version: 5 }],
      success: [{ put: { key: b('a'), value: b('v'), lease: 9n } }],
      failure: [{ put: { key: b('ok'), value: b('v') } }],
    } }));
    expect(response.succeeded).toBe(false);
    const before = log.store.hashKv().hash;
    expect(() => log.apply({ txn: { success: [{ put: { key: b('x'), value: b('v') } }, { put: { key: b('y'), value: b('v'), lease: 9n } }] } })).toThrow(LeaseNotFoundError);
    expect(log.get('x')).toEqual([]);
    expect(log.store.hashKv().hash).toBe(before);
    expect(log.store.appliedPosition.index).toBe(log.index); // the failed entry still counts as applied
  });
});
