// The live ports fed junk: a real member (startMember on free loopback ports) gets random,
// truncated, damaged and oversized messages on its client port (KV Range/Put/Txn,
// Lease grant, Watch) and on its peer port (the raft stream). Every call must end in an OK or
// a gRPC error status, and the member must still serve a linearizable put and get afterwards.
// FUZZ_PORT_RUNS sets the inputs per method (default 150).
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as GrpcClient, credentials, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMember } from '../../src/server/index.js';
import type { RunningMember } from '../../src/server/index.js';
import { freeLoopbackPorts } from '../../src/testing/free-ports.js';
import { Client } from '../../src/index.js';
import { TARGETS, mutate } from './decoders.js';
import { FrameReader, RAFT_STREAM_PREAMBLE, encodeFrame } from '../../src/server/peer/frames.js';
import { MAX_PEER_MESSAGE_BYTES } from '../../src/server/peer/network-peer-transport.js';

const RUNS = Number(process.env.FUZZ_PORT_RUNS ?? 150);
const passthrough = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

let member: RunningMember;
let dataDir: string;
let clientAddress: string;
let peerAddress: string;
let raw: GrpcClient;
let peerRaw: GrpcClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conclave-fuzz-'));
  const [clientPort, peerPort] = await freeLoopbackPorts(2);
  clientAddress = `127.0.0.1:${clientPort}`;
  peerAddress = `127.0.0.1:${peerPort}`;
  member = await startMember({ dataDir, name: 'fuzz', listenClientUrls: [`http://${clientAddress}`], listenPeerUrls: [`http://${peerAddress}`], initialAdvertisePeerUrls: [`http://${peerAddress}`], initialCluster: `fuzz=http://${peerAddress}` });
  raw = new GrpcClient(clientAddress, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  peerRaw = new GrpcClient(peerAddress, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
}, 60_000);

afterAll(async () => {
  raw?.close();
  peerRaw?.close();
  await member?.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

function unary(path: string, bytes: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(path, passthrough.serialize, passthrough.deserialize, Buffer.from(bytes), { deadline: Date.now() + 10_000 }, (error) => resolve(error === null ? status.OK : error.code ?? -1));
  });
}

function streamOnce(client: GrpcClient, path: string, frames: readonly Uint8Array[]): Promise<number> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(path, passthrough.serialize, passthrough.deserialize, { deadline: Date.now() + 10_000 });
    let settled = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      call.cancel();
      resolve(code);
    };
    call.on('data', () => undefined);
    call.on('error', (error: { code?: number }) => finish(error.code ?? -1));
    call.on('end', () => finish(status.OK));
    for (const frame of frames) call.write(Buffer.from(frame));
    // Whatever the server made of the frames, close our side; it must answer or end.
    setTimeout(() => call.end(), 50);
    setTimeout(() => finish(status.OK), 3000);
  });
}

/**
 * Writes `bytes` on a raw raft stream connection (the member's own peer protocol) and half-closes
 * it. Resolves with how the member ended it and the ack frames it sent back; every byte it
 * sends must be a well-formed ack frame.
 */
function rawStreamOnce(bytes: readonly Buffer[]): Promise<{ readonly acks: number; readonly closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const [host, port] = peerAddress.split(':');
    const socket = connect({ host: host!, port: Number(port) });
    const reader = new FrameReader(64 * 1024, false);
    let acks = 0;
    let closedByServer = false;
    socket.on('data', (chunk: Buffer) => {
      try {
        acks += reader.push(chunk).length;
      } catch (error) {
        reject(error as Error);
      }
    });
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.on('error', () => {
      closedByServer = true;
    });
    socket.on('close', () => resolve({ acks, closedByServer }));
    for (const chunk of bytes) socket.write(chunk);
    // Give the member time to answer, then close our side if it has not closed its own.
    setTimeout(() => socket.end(), 50);
    setTimeout(() => socket.destroy(), 3000);
  });
}

const target = (name: string) => TARGETS.find((t) => t.name === name)!;
const input = (name: string) => fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }), fc.nat()).map(([seed, kind]) => mutate(target(name).valid, seed, kind)),
);
const known = new Set<number>(Object.values(status).filter((v): v is number => typeof v === 'number'));

async function stillServes(): Promise<void> {
  const client = new Client({ endpoints: [clientAddress] });
  try {
    await client.put('fuzz/alive', 'yes');
    expect((await client.get('fuzz/alive')).kvs[0]?.value).toBe('yes');
  } finally {
    client.destroy();
  }
}

describe('live ports fed malformed input', () => {
  for (const [path, name] of [
    ['/etcdserverpb.KV/Range', 'client RangeRequest'],
    ['/etcdserverpb.KV/Put', 'client PutRequest'],
    ['/etcdserverpb.KV/Txn', 'client TxnRequest'],
    ['/etcdserverpb.KV/DeleteRange', 'client DeleteRangeRequest'],
    ['/etcdserverpb.Lease/LeaseGrant', 'client LeaseGrantRequest'],
  ] as const) {
    it(`client port ${path}: every junk request gets a status, the member keeps serving`, async () => {
      await fc.assert(fc.asyncProperty(input(name), async (bytes) => {
        expect(known.has(await unary(path, bytes))).toBe(true);
      }), { numRuns: RUNS, seed: 21 });
      await stillServes();
    }, 300_000);
  }

  it('client port: an oversized request is refused with RESOURCE_EXHAUSTED and nothing is written', async () => {
    const huge = new Uint8Array(4 * 1024 * 1024).fill(0x41);
    expect(await unary('/etcdserverpb.KV/Put', huge)).toBe(status.RESOURCE_EXHAUSTED);
    await stillServes();
  }, 60_000);

  it('client port Watch stream: junk frames end the stream or are answered, the member keeps serving', async () => {
    await fc.assert(fc.asyncProperty(fc.array(input('client WatchRequest'), { minLength: 1, maxLength: 4 }), async (frames) => {
      expect(known.has(await streamOnce(raw, '/etcdserverpb.Watch/Watch', frames))).toBe(true);
    }), { numRuns: Math.ceil(RUNS / 3), seed: 22 });
    await stillServes();
  }, 300_000);

  it('peer port raft stream: junk batches are refused or end the stream, the member keeps serving', async () => {
    await fc.assert(fc.asyncProperty(fc.array(input('peer MessageBatch'), { minLength: 1, maxLength: 4 }), async (frames) => {
      expect(known.has(await streamOnce(peerRaw, '/conclave.peer.Peer/Stream', frames))).toBe(true);
    }), { numRuns: Math.ceil(RUNS / 3), seed: 23 });
    await stillServes();
  }, 300_000);

  it('peer port raw raft stream: junk after the preamble is acknowledged or ends the connection, the member keeps serving', async () => {
    const junkFrame = fc.oneof(
      input('peer MessageBatch').map((payload) => encodeFrame(payload)),
      fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
    );
    await fc.assert(fc.asyncProperty(fc.array(junkFrame, { minLength: 1, maxLength: 4 }), fc.boolean(), async (frames, withPreamble) => {
      const outcome = await rawStreamOnce([...(withPreamble ? [RAFT_STREAM_PREAMBLE] : []), ...frames]);
      expect(outcome.acks).toBeLessThanOrEqual(frames.length);
      if (!withPreamble && frames[0]![0] !== 0x50) expect(outcome.acks).toBe(0); // not a raft stream, and no HTTP/2 preface either
    }), { numRuns: Math.ceil(RUNS / 3), seed: 24 });
    await stillServes();
  }, 300_000);

  it('peer port raw raft stream: a frame announcing more than the limit ends the connection before any of it is read', async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_PEER_MESSAGE_BYTES + 1);
    const outcome = await rawStreamOnce([RAFT_STREAM_PREAMBLE, header]);
    expect(outcome).toEqual({ acks: 0, closedByServer: true });
    await stillServes();
  }, 60_000);
});
