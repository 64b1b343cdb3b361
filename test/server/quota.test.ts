// etcd's quota arithmetic: a put costs key + value + 256 bytes, a txn its dearer branch (nested
// txns included), a lease grant 84 bytes; deletes and compactions are never charged, and a
// request fits only while size + cost stays below the quota.
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { PutRequestSchema, RequestOpSchema, TxnRequestSchema } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { BackendQuota, KV_OVERHEAD_BYTES, requestCost } from '../../src/server/quota.js';
import { storedBytes } from '../../src/storage/backend/lmdb-backend.js';

const bytes = (n: number): Uint8Array => new Uint8Array(n);
const put = (k: number, v: number) => create(PutRequestSchema, { key: bytes(k), value: bytes(v) });
const opPut = (k: number, v: number) => create(RequestOpSchema, { request: { case: 'requestPut', value: put(k, v) } });

describe('requestCost and BackendQuota', () => {
  it('charges puts, txn branches and lease grants as etcd does', () => {
    expect(requestCost({ case: 'put', value: put(3, 100) })).toBe(3 + 100 + KV_OVERHEAD_BYTES);
    const nested = create(TxnRequestSchema, { success: [opPut(1, 10)] });
    const txn = create(TxnRequestSchema, {
      success: [opPut(1, 1), create(RequestOpSchema, { request: { case: 'requestTxn', value: nested } })],
      failure: [opPut(1, 1)],
    });
    expect(requestCost({ case: 'txn', value: txn })).toBe((1 + 1 + KV_OVERHEAD_BYTES) + (1 + 10 + KV_OVERHEAD_BYTES));
    expect(requestCost({ case: 'leaseGrant', value: {} as never })).toBe(84);
    expect(requestCost({ case: 'deleteRange', value: {} as never })).toBeUndefined();
  });

  it('lets a request in only while size + cost stays below the quota', () => {
    let size = 0;
    const quota = new BackendQuota({ backendBytes: () => size, storedBytes: (k, v) => k + v }, 1000);
    const request = { case: 'put' as const, value: put(1, 99) }; // cost 356
    size = 643;
    expect(quota.allows(request)).toBe(true);
    size = 644;
    expect(quota.allows(request)).toBe(false);
    expect(quota.allows({ case: 'deleteRange', value: {} as never })).toBe(true);
  });

  it('charges what the engine stores for a put when that is more than etcd\'s estimate', () => {
    // lmdb: an 8 KB value goes to three 4 KiB overflow pages, more than etcd's value + 256.
    const stored = (k: number, v: number): number => storedBytes(k, v, 4096);
    expect(stored(17, 8192 + 40)).toBe(17 + 10 + 8 + 3 * 4096);
    expect(stored(17, 100)).toBe(17 + 10 + 100);
    const value = put(4, 8192);
    expect(requestCost({ case: 'put', value }, (k, v) => stored(17, k + v + 32))).toBe(17 + 10 + 8 + 3 * 4096);
    expect(requestCost({ case: 'put', value })).toBe(4 + 8192 + KV_OVERHEAD_BYTES);
    const quota = new BackendQuota({ backendBytes: () => 200_000 - 12_000, storedBytes: (k, v) => stored(k, v) }, 200_000);
    expect(quota.allows({ case: 'put', value })).toBe(false);
    expect(new BackendQuota({ backendBytes: () => 200_000 - 12_000, storedBytes: (k, v) => k + v }, 200_000).allows({ case: 'put', value })).toBe(true);
  });
});
