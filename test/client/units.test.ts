// Method: pure unit tests (no server) of the client's building blocks: key ranges and
// namespaces, the error mapping table, endpoint parsing and option validation, the gRPC
// method paths derived from the generated descriptors, and spot checks that the generated
// messages carry etcd's field numbers (the wire contract).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { Compare_CompareTarget, CompareSchema, KV, Lease, Maintenance, PutRequestSchema, Watch, WatchResponseSchema } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { Election as ElectionService } from '../../src/gen/v3electionpb/v3election_pb.js';
import { Lock as LockService } from '../../src/gen/v3lockpb/v3lock_pb.js';
import { Client, codecFor, codeForEtcdMessage, fromGrpcError, GrpcStatus, methodPath, Namespace, prefixEnd, toBytes } from '../../src/client/index.js';
import { normalizeEndpoint } from '../../src/client/endpoints.js';
import { isEndpointFailure } from '../../src/client/errors.js';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

describe('keys and namespaces', () => {
  it('computes prefix ends as etcd does', () => {
    expect(text(prefixEnd(toBytes('aa')))).toBe('ab');
    expect(text(prefixEnd(new Uint8Array([0x61, 0xff])))).toBe('b');
    expect([...prefixEnd(new Uint8Array([0xff, 0xff]))]).toEqual([0]);
    expect([...prefixEnd(new Uint8Array(0))]).toEqual([0]);
  });

  it('prefixes keys and ranges and strips results', () => {
    const ns = new Namespace('app/');
    expect(text(ns.key(toBytes('k')))).toBe('app/k');
    expect(ns.rangeEnd(new Uint8Array(0))).toHaveLength(0);
    expect(text(ns.rangeEnd(new Uint8Array([0])))).toBe('app0');
    expect(text(ns.rangeEnd(toBytes('z')))).toBe('app/z');
    expect(text(ns.strip(toBytes('app/k')))).toBe('k');
    expect(text(new Namespace().key(toBytes('k')))).toBe('k');
  });
});

describe('error mapping', () => {
  it('maps etcd messages to stable codes and marks only idempotent transient errors retryable', () => {
    expect(codeForEtcdMessage('etcdserver: requested lease not found')).toBe('ERR_ETCD_LEASE_NOT_FOUND');
    expect(codeForEtcdMessage('etcdserver: mvcc: required revision has been compacted')).toBe('ERR_ETCD_COMPACTED');
    expect(codeForEtcdMessage('something else')).toBeUndefined();
    const noLeader = { code: GrpcStatus.UNAVAILABLE, details: 'etcdserver: no leader' };
    expect(fromGrpcError(noLeader, true)).toMatchObject({ code: 'ERR_ETCD_NO_LEADER', retryable: true, grpcCode: 14 });
    expect(fromGrpcError(noLeader, false).retryable).toBe(false);
    const refused = fromGrpcError({ code: GrpcStatus.UNAVAILABLE, details: 'No connection established' }, true);
    expect(refused).toMatchObject({ code: 'ERR_UNAVAILABLE', retryable: true });
    expect(isEndpointFailure(refused)).toBe(true);
    expect(isEndpointFailure(fromGrpcError(noLeader, true))).toBe(false);
    expect(fromGrpcError({ code: GrpcStatus.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' }, true)).toMatchObject({ code: 'ERR_ETCD_EMPTY_KEY', retryable: false });
    expect(fromGrpcError({ code: 42, details: 'odd' }, true).code).toBe('ERR_GRPC_42');
  });
});

describe('endpoints and options', () => {
  it('accepts host:port with or without a scheme and rejects the rest', () => {
    expect(normalizeEndpoint('http://127.0.0.1:2379')).toBe('127.0.0.1:2379');
    expect(normalizeEndpoint(' etcd-1:2379 ')).toBe('etcd-1:2379');
    expect(() => normalizeEndpoint('etcd-1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });

  it('validates client options with named errors', () => {
    expect(() => new Client({ endpoints: [] })).toThrow(expect.objectContaining({ option: 'endpoints' }));
    expect(() => new Client({ endpoints: ['a:1'], callTimeoutMs: 0 })).toThrow(expect.objectContaining({ option: 'callTimeoutMs' }));
    expect(() => new Client({ endpoints: ['a:1'], keepAliveIntervalMs: 1000 })).toThrow(expect.objectContaining({ option: 'keepAliveIntervalMs' }));
    const client = new Client({ endpoints: ['a:1'] });
    expect(() => client.watch('k', { startRevision: 0n })).toThrow(expect.objectContaining({ option: 'startRevision' }));
    client.destroy();
  });
});

describe('generated wire surface', () => {
  it('derives gRPC paths from the service descriptors', () => {
    expect(methodPath(KV.method.range)).toBe('/etcdserverpb.KV/Range');
    expect(methodPath(Watch.method.watch)).toBe('/etcdserverpb.Watch/Watch');
    expect(methodPath(Lease.method.leaseKeepAlive)).toBe('/etcdserverpb.Lease/LeaseKeepAlive');
    expect(methodPath(Maintenance.method.moveLeader)).toBe('/etcdserverpb.Maintenance/MoveLeader');
    expect(methodPath(LockService.method.lock)).toBe('/v3lockpb.Lock/Lock');
    expect(methodPath(ElectionService.method.observe)).toBe('/v3electionpb.Election/Observe');
    expect(ElectionService.method.observe.methodKind).toBe('server_streaming');
    expect(Watch.method.watch.methodKind).toBe('bidi_streaming');
  });

  it('keeps etcd field numbers (spot checks of the gaps and odd names)', () => {
    expect(WatchResponseSchema.fields.find((f) => f.name === 'events')?.number).toBe(11);
    expect(CompareSchema.fields.find((f) => f.name === 'range_end')?.number).toBe(64);
    expect(PutRequestSchema.fields.map((f) => [f.name, f.number])).toEqual([
      ['key', 1], ['value', 2], ['lease', 3], ['prev_kv', 4], ['ignore_value', 5], ['ignore_lease', 6],
    ]);
    expect(Compare_CompareTarget.LEASE).toBe(4);
  });

  it('round-trips messages through the codec with bigint int64 fields', () => {
    const codec = codecFor(KV.method.put);
    const request = create(PutRequestSchema, { key: toBytes('k'), value: toBytes('v'), lease: 0x7fff_ffff_ffff_ffffn });
    const bytes = codec.serialize(request);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    const back = fromBinary(PutRequestSchema, bytes);
    expect(back.lease).toBe(0x7fff_ffff_ffff_ffffn);
    expect(toBinary(PutRequestSchema, back)).toEqual(new Uint8Array(bytes));
  });
});
