/**
 * The benchmark's workloads, as each load-generator process runs its share of them. A
 * workload has a number of slots (operations in flight, lockers, watchers) spread over the
 * worker processes; each slot loops "start op, await it" until the run ends, so a slot is one
 * client-side operation in flight. Every system gets the same slots, keys and value sizes.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import { sharedNowMs } from './measure.js';
import { RawClient } from './raw-client.js';

/** etcd's benchmark tool defaults: 8-byte-ish keys, 256-byte values. */
const VALUE_BYTES = 256;
/** Distinct keys the put workloads write (random among them). */
const PUT_KEYSPACE = 10_000;
/** Put requests encoded up front per worker (random keys of the key space), used in turn. */
const ENCODED_PUTS = 2_048;

export interface WorkloadContext {
  /** Our SDK's client (the lock rows). */
  readonly client: Client;
  /** The thin client (every other row; see raw-client.ts). */
  readonly raw: RawClient;
  readonly workerIndex: number;
  /** This worker's share of the workload's slots. */
  readonly slots: number;
  /** Reports one completed operation (for workloads whose ops are observed elsewhere, e.g. watch events). */
  readonly record: (latencyMs: number, completedAtMs: number) => void;
  /** Aborts when the run ends. */
  readonly signal: AbortSignal;
}

export interface PreparedWorkload {
  /** One loop body per slot; each call is one measured operation unless `recordsOwn`. */
  readonly ops: ReadonlyArray<() => Promise<void>>;
  /** The ops are not the measured unit: the workload calls `record` itself. */
  readonly recordsOwn?: boolean;
  teardown(): Promise<void>;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Total slots, split over the workers. */
  readonly slots: number;
  /** Whether only worker 0 takes slots (a single sequential client). */
  readonly singleWorker?: boolean;
  prepare(context: WorkloadContext): Promise<PreparedWorkload>;
}

const value = (): Uint8Array => randomBytes(VALUE_BYTES);
const randomKey = (prefix: string, space: number): string => `${prefix}${Math.floor(Math.random() * space)}`;

function putWorkload(name: string, slots: number, description: string): Workload {
  return {
    name, slots, description, singleWorker: slots === 1,
    async prepare({ raw, slots: mine }) {
      const payload = value();
      const requests = Array.from({ length: ENCODED_PUTS }, () => RawClient.encodePut(randomKey('bench/put/', PUT_KEYSPACE), payload));
      let next = 0;
      const op = async (): Promise<void> => {
        await raw.put(requests[next++ % ENCODED_PUTS]!);
      };
      return { ops: Array.from({ length: mine }, () => op), teardown: async () => {} };
    },
  };
}

function getWorkload(name: string, serializable: boolean, description: string): Workload {
  return {
    name, slots: 64, description,
    async prepare({ raw, slots: mine }) {
      await raw.put(RawClient.encodePut('bench/get', value()));
      const request = RawClient.encodeGet('bench/get', serializable);
      const op = async (): Promise<void> => {
        await raw.range(request);
      };
      return { ops: Array.from({ length: mine }, () => op), teardown: async () => {} };
    },
  };
}

const casWorkload: Workload = {
  name: 'txn-cas',
  slots: 64,
  description: 'txn: if mod_revision(key) == last seen then put(key) else get(key); 64 in flight, one key per slot',
  async prepare({ raw, workerIndex, slots: mine }) {
    const payload = value();
    const ops = await Promise.all(Array.from({ length: mine }, async (_, slot) => {
      const key = `bench/cas/${workerIndex}/${slot}`;
      // Unknown at first: the first txn fails its compare and reads the key's revision.
      let last = 0n;
      await raw.put(RawClient.encodePut(key, payload));
      return async (): Promise<void> => {
        const result = await raw.compareAndSwap(key, last, payload);
        if (result.succeeded) {
          last = result.header?.revision ?? 0n;
        } else {
          const read = result.responses[0]?.response;
          last = read?.case === 'responseRange' ? read.value.kvs[0]?.modRevision ?? 0n : 0n;
        }
      };
    }));
    return { ops, teardown: async () => {} };
  },
};

function lockWorkload(name: string, contended: boolean, description: string): Workload {
  return {
    name, slots: 8, description,
    async prepare({ client, workerIndex, slots: mine }) {
      const sessions = await Promise.all(Array.from({ length: mine }, () => Session.create(client, { ttlSeconds: 60 })));
      const ops = sessions.map((session, slot) => {
        const mutex = new Mutex(session, contended ? 'bench/lock/contended' : `bench/lock/own/${workerIndex}/${slot}`);
        return async (): Promise<void> => {
          const held = await mutex.lock();
          await held.unlock();
        };
      });
      return { ops, teardown: async () => void (await Promise.allSettled(sessions.map((s) => s.close()))) };
    },
  };
}

/** Puts whose value is the shared-clock send time; every watcher records now - send time per event. */
const watchWorkload: Workload = {
  name: 'watch-fanout',
  slots: 200,
  description: '200 watchers on one key (spread over the workers), one writer with 8 puts in flight; an op is one event delivered',
  async prepare({ raw, workerIndex, slots: mine, record }) {
    const decoder = new TextDecoder();
    const stop = await raw.watchMany('bench/watch', mine, (sentAt) => {
      const now = sharedNowMs();
      record(now - Number(decoder.decode(sentAt)), now);
    });
    const encoder = new TextEncoder();
    const write = async (): Promise<void> => {
      await raw.put(RawClient.encodePut('bench/watch', encoder.encode(String(sharedNowMs()))));
    };
    return {
      ops: workerIndex === 0 ? Array.from({ length: 8 }, () => write) : [],
      recordsOwn: true,
      async teardown() {
        stop();
      },
    };
  },
};

const leaseWorkload: Workload = {
  name: 'lease',
  slots: 16,
  description: 'lease grant (TTL 60), put a key with it, revoke; 16 in flight; an op is the whole cycle',
  async prepare({ raw, workerIndex, slots: mine }) {
    const payload = value();
    const ops = Array.from({ length: mine }, (_, slot) => async (): Promise<void> => {
      const id = await raw.leaseGrant(60);
      await raw.put(RawClient.encodePut(`bench/lease/${workerIndex}/${slot}`, payload, id));
      await raw.leaseRevoke(id);
    });
    return { ops, teardown: async () => {} };
  },
};

export const WORKLOADS: readonly Workload[] = [
  putWorkload('put-seq', 1, 'put, one at a time (one client), random key of 10k, 256-byte value'),
  putWorkload('put-64', 64, 'put, 64 in flight over the workers, random key of 10k, 256-byte value'),
  getWorkload('get-linearizable', false, 'linearizable get of one key, 64 in flight'),
  getWorkload('get-serializable', true, 'serializable get of one key, 64 in flight'),
  casWorkload,
  lockWorkload('lock-contended', true, 'our Mutex: 8 sessions lock/unlock one name; an op is one lock+unlock cycle'),
  lockWorkload('lock-uncontended', false, 'our Mutex: 8 sessions, each its own name; an op is one lock+unlock cycle'),
  watchWorkload,
  leaseWorkload,
];

/** A workload's slots for one worker: an even split, the remainder to the first workers. */
export function slotsFor(workload: Workload, workerIndex: number, workerCount: number): number {
  if (workload.singleWorker === true) return workerIndex === 0 ? workload.slots : 0;
  const base = Math.floor(workload.slots / workerCount);
  return base + (workerIndex < workload.slots % workerCount ? 1 : 0);
}
