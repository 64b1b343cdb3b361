/**
 * One client library in its own process, for `npm run bench -- client`: the parent sends
 * `{ row, warmupMs, measureMs }` over IPC, the worker runs that row against the endpoint it
 * was started with and answers `{ ops, cpuMicros, elapsedMs }`, where CPU is this process's
 * `process.cpuUsage()` (user + system) over the measured window only. One library per process,
 * so every microsecond of CPU is attributable to that library (and to grpc-js under it).
 *
 * Kinds: `conclave` (our SDK as a user runs it), `etcd3` (the npm package), `raw` (grpc-js on
 * the generated descriptors, requests encoded once, responses not decoded: the floor that the
 * transport sets), `embedded` (a Conclave member in this process and `member.client()`; the
 * endpoint argument is ignored; CPU is then client + server).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { Etcd3 } from 'etcd3';
import { compare, methodPath } from '../../src/client/index.js';
import type { Client } from '../../src/client/index.js';
import { Client as SdkClient } from '../../src/index.js';
import { startMember } from '../../src/embed/index.js';
import type { EmbeddedMember } from '../../src/embed/index.js';
import {
  Compare_CompareResult, Compare_CompareTarget, DeleteRangeRequestSchema, KV, RangeRequest_SortOrder, RangeRequest_SortTarget,
  TxnRequestSchema,
} from '../../src/gen/etcdserverpb/rpc_pb.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import { RawClient } from './raw-client.js';

export type ClientKind = 'conclave' | 'etcd3' | 'raw' | 'embedded';
export type ClientRow = 'get-seq' | 'get-64' | 'put-64' | 'txn-64' | 'lock-cycle';
export const clientRows: readonly ClientRow[] = ['get-seq', 'get-64', 'put-64', 'txn-64', 'lock-cycle'];

export interface RowRequest {
  readonly row: ClientRow;
  readonly warmupMs: number;
  readonly measureMs: number;
}

export interface RowResult {
  readonly ops: number;
  readonly cpuMicros: number;
  readonly elapsedMs: number;
  readonly error?: string;
}

/** Keys every row uses; the parent seeds them before the first row. */
export const GET_KEY = 'bench-client/get';
export const slotKey = (slot: number): string => `bench-client/slot/${slot}`;
export const VALUE = new Uint8Array(256).fill(0x61);
const LOCK_NAME = 'bench-client/lock';

/** One library's implementation of every row's single operation. */
export interface Driver {
  get(): PromiseLike<unknown>;
  put(slot: number): PromiseLike<unknown>;
  txn(slot: number): PromiseLike<unknown>;
  lockCycle(): Promise<void>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

async function conclaveDriver(client: Client, closeAll: () => Promise<void>): Promise<Driver> {
  const session = await Session.create(client, { ttlSeconds: 30 });
  const mutex = new Mutex(session, LOCK_NAME);
  return {
    get: () => client.get(GET_KEY),
    put: (slot) => client.put(slotKey(slot), VALUE),
    txn: (slot) => client.txn().if(compare.modRevision(slotKey(slot), '>', 0n)).do(client.put(slotKey(slot), VALUE)).else(client.get(slotKey(slot))),
    async lockCycle() {
      const held = await mutex.lock();
      await held.unlock();
    },
    async close() {
      await session.close();
      await closeAll();
    },
  };
}

function etcd3Driver(endpoint: string): Driver {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  return {
    // What awaiting the builders does (a get resolves to the value as a string, as ours reads it lazily).
    get: () => client.get(GET_KEY).string(),
    put: (slot) => client.put(slotKey(slot)).value(Buffer.from(VALUE)).exec(),
    txn: (slot) => client.if(slotKey(slot), 'Mod', '>', 0).then(client.put(slotKey(slot)).value(Buffer.from(VALUE))).else(client.get(slotKey(slot))).commit(),
    async lockCycle() {
      const lock = client.lock(`${LOCK_NAME}-etcd3`);
      await lock.acquire();
      await lock.release();
    },
    async close() {
      client.close();
    },
  };
}

/**
 * The floor: the same RPCs as the SDK with nothing around them. Its lock cycle sends what our
 * Mutex sends when uncontended (the put-if-absent txn that also reads the oldest contender,
 * then the delete), under a lease granted once, as a Session holds one.
 */
async function rawDriver(endpoint: string): Promise<Driver> {
  const raw = new RawClient(endpoint);
  // Long enough for the whole run: the raw client sends no keep-alives.
  const lease = await raw.leaseGrant(3_600);
  const getRequest = RawClient.encodeGet(GET_KEY, false);
  const putRequests = Array.from({ length: 64 }, (_, slot) => RawClient.encodePut(slotKey(slot), VALUE));
  const txnRequests = Array.from({ length: 64 }, (_, slot) => {
    const key = encoder.encode(slotKey(slot));
    return encodeTxn({
      compare: [{ key, result: Compare_CompareResult.GREATER, target: Compare_CompareTarget.MOD, targetUnion: { case: 'modRevision', value: 0n } }],
      success: [{ request: { case: 'requestPut', value: { key, value: VALUE } } }],
      failure: [{ request: { case: 'requestRange', value: { key } } }],
    });
  });
  const lockKey = encoder.encode(`${LOCK_NAME}-raw/${lease.toString(16)}`);
  const lockPrefix = encoder.encode(`${LOCK_NAME}-raw/`);
  const prefixEnd = lockPrefix.slice();
  prefixEnd[prefixEnd.length - 1]! += 1;
  const oldest = { key: lockPrefix, rangeEnd: prefixEnd, limit: 1n, sortOrder: RangeRequest_SortOrder.ASCEND, sortTarget: RangeRequest_SortTarget.CREATE };
  const lockTxn = encodeTxn({
    compare: [{ key: lockKey, result: Compare_CompareResult.EQUAL, target: Compare_CompareTarget.CREATE, targetUnion: { case: 'createRevision', value: 0n } }],
    success: [{ request: { case: 'requestPut', value: { key: lockKey, lease } } }, { request: { case: 'requestRange', value: oldest } }],
    failure: [{ request: { case: 'requestRange', value: { key: lockKey } } }, { request: { case: 'requestRange', value: oldest } }],
  });
  const unlock = Buffer.from(toBinary(DeleteRangeRequestSchema, create(DeleteRangeRequestSchema, { key: lockKey })));
  const TXN = methodPath(KV.method.txn);
  const DELETE = methodPath(KV.method.deleteRange);
  return {
    get: () => raw.range(getRequest),
    put: (slot) => raw.put(putRequests[slot]!),
    txn: (slot) => raw.call(TXN, txnRequests[slot]!),
    async lockCycle() {
      await raw.call(TXN, lockTxn);
      await raw.call(DELETE, unlock);
    },
    async close() {
      await raw.leaseRevoke(lease);
      raw.close();
    },
  };
}

function encodeTxn(init: Parameters<typeof create<typeof TxnRequestSchema>>[1]): Buffer {
  const bytes = toBinary(TxnRequestSchema, create(TxnRequestSchema, init));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function embeddedDriver(): Promise<Driver> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-embedded-'));
  let member: EmbeddedMember | undefined;
  try {
    member = await startMember({
      dataDir, listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'],
      initialCluster: 'default=http://127.0.0.1:1', initialAdvertisePeerUrls: ['http://127.0.0.1:1'],
    });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const running = member;
  const client = running.client();
  for (;;) {
    try {
      await client.put(GET_KEY, VALUE);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return conclaveDriver(client, async () => {
    await client.close();
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
}

function inFlight(row: ClientRow): number {
  return row === 'get-seq' || row === 'lock-cycle' ? 1 : 64;
}

function operation(driver: Driver, row: ClientRow): (slot: number) => PromiseLike<unknown> {
  switch (row) {
    case 'get-seq':
    case 'get-64':
      return () => driver.get();
    case 'put-64':
      return (slot) => driver.put(slot);
    case 'txn-64':
      return (slot) => driver.txn(slot);
    case 'lock-cycle':
      return () => driver.lockCycle();
  }
}

/** Runs `slots` loops of "start an op, await it" until `endAt`; counts ops finished after `countFrom`. */
async function runLoops(op: (slot: number) => PromiseLike<unknown>, slots: number, countFrom: number, endAt: number): Promise<number> {
  let ops = 0;
  const loop = async (slot: number): Promise<void> => {
    while (performance.now() < endAt) {
      await op(slot);
      if (performance.now() >= countFrom) ops += 1;
    }
  };
  await Promise.all(Array.from({ length: slots }, (_, slot) => loop(slot)));
  return ops;
}

export async function runRow(driver: Driver, request: RowRequest): Promise<RowResult> {
  const op = operation(driver, request.row);
  const slots = inFlight(request.row);
  const warmupEnd = performance.now() + request.warmupMs;
  await runLoops(op, slots, Number.POSITIVE_INFINITY, warmupEnd);
  // Every loop is idle here, so the window holds exactly the measured ops' CPU.
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const ops = await runLoops(op, slots, startedAt, startedAt + request.measureMs);
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  return { ops, cpuMicros: cpu.user + cpu.system, elapsedMs };
}

/** The driver of one network library (the embedded kind starts its own member). */
export async function startDriver(kind: ClientKind, endpoint: string): Promise<Driver> {
  switch (kind) {
    case 'conclave': {
      const client = new SdkClient({ endpoints: [endpoint] });
      return conclaveDriver(client, () => client.close());
    }
    case 'etcd3':
      return etcd3Driver(endpoint);
    case 'raw':
      return rawDriver(endpoint);
    case 'embedded':
      return embeddedDriver();
    default:
      throw new Error(`unknown client kind ${String(kind)}`);
  }
}

/**
 * Every library in this one process, taking turns in short slices (the `--one-process` mode):
 * all of them see the same machine load, at the price of sharing one heap and event loop.
 * Each slice is counted for its library alone (the others are idle then).
 */
export async function runInterleaved(kinds: readonly ClientKind[], endpoint: string, row: ClientRow, slices: number, sliceMs: number): Promise<Map<ClientKind, RowResult>> {
  const drivers = new Map<ClientKind, Driver>();
  for (const kind of kinds) drivers.set(kind, await startDriver(kind, endpoint));
  const totals = new Map<ClientKind, { ops: number; cpuMicros: number; elapsedMs: number }>(kinds.map((k) => [k, { ops: 0, cpuMicros: 0, elapsedMs: 0 }]));
  try {
    for (let slice = 0; slice < slices; slice += 1) {
      for (let i = 0; i < kinds.length; i += 1) {
        const kind = kinds[(i + slice) % kinds.length]!;
        const result = await runRow(drivers.get(kind)!, { row, warmupMs: Math.min(200, sliceMs / 2), measureMs: sliceMs });
        const total = totals.get(kind)!;
        total.ops += result.ops;
        total.cpuMicros += result.cpuMicros;
        total.elapsedMs += result.elapsedMs;
      }
    }
  } finally {
    for (const driver of drivers.values()) await driver.close();
  }
  return totals;
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ClientKind;
  const endpoint = process.argv[3] ?? '';
  const driver = await startDriver(kind, endpoint);
  process.on('message', (message: RowRequest | { close: true }) => {
    if ('close' in message) {
      void driver.close().finally(() => process.disconnect());
      return;
    }
    runRow(driver, message).then(
      (result) => process.send!(result),
      (error: unknown) => process.send!({ ops: 0, cpuMicros: 0, elapsedMs: 0, error: String(error) } satisfies RowResult),
    );
  });
  process.send!({ ready: true });
}

if (process.send !== undefined) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
