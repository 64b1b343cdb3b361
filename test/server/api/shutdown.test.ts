// Graceful shutdown of the gRPC API: open long-lived streams (watch, lease keep-alive,
// election observe) must not hold `shutdown()` forever; each ends with etcd's
// Unavailable "etcdserver: server stopped", and shutdown resolves.
import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { KV, Lease, Watch } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import { Election } from '../../../src/gen/v3electionpb/v3election_pb.js';
import { createGrpcServer } from '../../../src/server/api/grpc-server.js';
import { MemoryPort } from './support/memory-port.js';
import { RawClient } from './support/raw-client.js';

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

describe('shutdown', () => {
  it('ends open streams with "server stopped" and resolves', async () => {
    const port = new MemoryPort();
    const api = createGrpcServer(port, { clock: port.clock });
    const client = new RawClient(`127.0.0.1:${await api.bind('127.0.0.1:0')}`);
    try {
      const watch = client.duplex(Watch.method.watch);
      watch.send({ requestUnion: { case: 'createRequest', value: { key: b('k') } } });
      expect((await watch.next()).created).toBe(true);
      const grant = await client.unary(Lease.method.leaseGrant, { TTL: 30n });
      if (!('ok' in grant)) throw new Error('grant failed');
      const keepAlive = client.duplex(Lease.method.leaseKeepAlive);
      keepAlive.send({ ID: grant.ok.ID });
      expect((await keepAlive.next()).TTL).toBe(30n);
      await client.unary(KV.method.put, { key: b('e/1'), value: b('leader'), lease: grant.ok.ID });
      const observe = client.serverStream(Election.method.observe, { name: b('e') });
      expect(Buffer.from((await observe.next()).kv!.value).toString()).toBe('leader');

      await api.shutdown();
      const stopped = { code: status.UNAVAILABLE, details: 'etcdserver: server stopped' };
      for (const stream of [watch, keepAlive, observe]) {
        await expect(stream.next()).rejects.toThrow(/stream ended/);
        expect(stream.status).toEqual(stopped);
      }
    } finally {
      client.close();
      api.forceShutdown();
      port.close();
    }
  });
});
