// etcd's quota arithmetic: a put costs key + value + 256 bytes, a txn its dearer branch (nested
// txns included), a lease grant 84 bytes; deletes and compactions are never charged, and a
// request fits only while size + cost stays below the quota.
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { PutRequestSchema, RequestOpSchema, TxnRequestSchema } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { BackendQuota, KV_OVERHEAD_BYTES, requestCost } from '../../src/server/quota.js';

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
    const quota = new BackendQuota({ backendBytes: () => size }, 1000);
    const request = { case: 'put' as const, value: put(1, 99) }; // cost 356
    size = 643;
    expect(quota.allows(request)).toBe(true);
    size = 644;
    expect(quota.allows(request)).toBe(false);
    expect(quota.allows({ case: 'deleteRange', value: {} as never })).toBe(true);
  });
});
