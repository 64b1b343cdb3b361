/**
 * The physical floors a sequential put cannot beat on this machine, measured in the same run
 * as the server rows so a loaded box shows in both: a 4 KiB write + fdatasync and a 4 KiB
 * O_DSYNC write into a pre-allocated file in the directory the bench's data dirs live in, and
 * a grpc-js unary echo over loopback (grpc-js client and server in this process, no protobuf
 * decoding: the transport's own cost per call).
 */
import { closeSync, constants, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';

export interface Floors {
  readonly writeFdatasyncP50Ms: number;
  readonly dsyncWriteP50Ms: number;
  readonly grpcEchoP50Ms: number;
}

const BLOCK_BYTES = 4096;
const FILE_BYTES = 16 * 1024 * 1024;

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** p50 of `count` durable 4 KiB writes at successive offsets of a pre-allocated file. */
function diskP50Ms(dir: string, dsync: boolean, count: number): number {
  const path = join(dir, dsync ? 'dsync' : 'fdatasync');
  const block = Buffer.alloc(BLOCK_BYTES, 7);
  const prepare = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600);
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < FILE_BYTES; at += zeros.length) writeSync(prepare, zeros, 0, zeros.length, at);
  fdatasyncSync(prepare);
  closeSync(prepare);
  // Pre-allocated and synced: each measured write changes no file size (as the WAL's segments).
  const fd = openSync(path, constants.O_RDWR | (dsync ? constants.O_DSYNC : 0));
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      writeSync(fd, block, 0, BLOCK_BYTES, (i * BLOCK_BYTES) % FILE_BYTES);
      if (!dsync) fdatasyncSync(fd);
      samples.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
  }
  return median(samples);
}

const ECHO_PATH = '/bench.Floor/Echo';
const asBuffer = (bytes: Buffer): Buffer => bytes;

/** p50 of `count` sequential unary calls to a grpc-js echo server on loopback. */
async function grpcEchoP50Ms(count: number): Promise<number> {
  const server = new grpc.Server();
  server.addService({
    Echo: { path: ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: asBuffer, requestDeserialize: asBuffer, responseSerialize: asBuffer, responseDeserialize: asBuffer },
  }, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const request = Buffer.alloc(300, 1);
  const call = (): Promise<void> => new Promise((resolve, reject) => {
    client.makeUnaryRequest(ECHO_PATH, asBuffer, asBuffer, request, (error) => (error ? reject(error) : resolve()));
  });
  try {
    for (let i = 0; i < 200; i++) await call();
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await call();
      samples.push(performance.now() - start);
    }
    return median(samples);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

export async function measureFloors(): Promise<Floors> {
  // Same parent directory as the members' data dirs (systems.ts), so the same disk.
  const dir = mkdtempSync(join(tmpdir(), 'bench-floors-'));
  try {
    const writeFdatasyncP50Ms = diskP50Ms(dir, false, 1000);
    const dsyncWriteP50Ms = diskP50Ms(dir, true, 1000);
    return { writeFdatasyncP50Ms, dsyncWriteP50Ms, grpcEchoP50Ms: await grpcEchoP50Ms(2000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeFloors(floors: Floors): string {
  return `floors on this box (same run): 4 KiB write+fdatasync p50 ${floors.writeFdatasyncP50Ms.toFixed(3)} ms, ` +
    `4 KiB O_DSYNC write p50 ${floors.dsyncWriteP50Ms.toFixed(3)} ms, grpc-js unary echo p50 ${floors.grpcEchoP50Ms.toFixed(3)} ms`;
}
