/**
 * Shared set-up and checks for the coordination-primitive suites (test/lock, test/election,
 * test/barrier): each suite body runs once per target (real etcd 3.4, 1 member; Conclave, 1
 * member in this process reached over gRPC), against a fixture that hands out clients and
 * sessions on that target and closes them after the suite. The checks below take the fixture
 * and a name (a key prefix of their own), so one check serves every primitive.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { Client } from '../../src/client/index.js';
import type { ClientOptions } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { conclaveSingleMember } from '../conformance/targets.js';
import { missingBinaries } from './binaries.js';
import { startEtcd } from './etcd.js';
import { waitFor } from './wait.js';

export interface PrimitiveTarget {
  readonly name: string;
  /** Why the target cannot run here (locally; under CI a missing binary throws instead). */
  unavailable(): string | undefined;
  start(): Promise<{ endpoints: string[]; stop(): Promise<void> }>;
}

export const etcdOneMember: PrimitiveTarget = {
  name: 'etcd 3.4',
  unavailable: () => missingBinaries('etcd'),
  async start() {
    const etcd = await startEtcd();
    return { endpoints: etcd.endpoints, stop: () => etcd.stop() };
  },
};

export const conclaveOneMember: PrimitiveTarget = {
  name: 'Conclave',
  unavailable: () => undefined,
  async start() {
    const running = await conclaveSingleMember.start();
    return { endpoints: [...(running.connection.endpoints ?? [])], stop: () => running.stop() };
  },
};

export const primitiveTargets: readonly PrimitiveTarget[] = [etcdOneMember, conclaveOneMember];

/** Clients and sessions on one started target; everything it handed out is closed after the suite. */
export class PrimitiveFixture {
  private started: { endpoints: string[]; stop(): Promise<void> } | undefined;
  private adminClient: Client | undefined;
  private readonly clients: Client[] = [];

  constructor(readonly target: PrimitiveTarget) {}

  get endpoints(): string[] {
    if (this.started === undefined) throw new Error('the target is not started');
    return this.started.endpoints;
  }

  /** A client for inspecting and disturbing the store (reads keys, revokes leases). */
  get admin(): Client {
    if (this.adminClient === undefined) throw new Error('the target is not started');
    return this.adminClient;
  }

  async start(): Promise<void> {
    this.started = await this.target.start();
    this.adminClient = new Client({ endpoints: this.started.endpoints });
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    await this.adminClient?.close();
    await this.started?.stop();
  }

  /** A new client of the target (closed after the suite). */
  client(options: Partial<ClientOptions> = {}): Client {
    return this.adopt(new Client({ endpoints: this.endpoints, ...options }));
  }

  /** Closes `client` after the suite. */
  adopt(client: Client): Client {
    this.clients.push(client);
    return client;
  }

  /** A session on a client of its own. */
  session(ttlSeconds = 10): Promise<Session> {
    return Session.create(this.client(), { ttlSeconds });
  }

  /** Keys under `prefix`, oldest first. */
  async keysUnder(prefix: string): Promise<string[]> {
    return (await this.admin.get(prefix).prefix().sort('create')).kvs.map((kv) => kv.key);
  }

  async count(prefix: string): Promise<number> {
    return (await this.admin.get(prefix).prefix()).kvs.length;
  }
}

/** Runs `body` once per target, each in its own describe with a started fixture. */
export function describeOnEveryTarget(title: string, body: (fx: PrimitiveFixture) => void, targets: readonly PrimitiveTarget[] = primitiveTargets): void {
  for (const target of targets) {
    const skip = target.unavailable();
    describe.skipIf(skip !== undefined)(`${title} (${target.name})`, () => {
      const fx = new PrimitiveFixture(target);
      beforeAll(() => fx.start());
      afterAll(() => fx.stop());
      body(fx);
    });
  }
}

/** A promise with a synchronous "has it resolved yet?". */
export function track<T>(promise: Promise<T>): { done: () => boolean; promise: Promise<T> } {
  let resolved = false;
  const tracked = promise.then((value) => ((resolved = true), value));
  return { done: () => resolved, promise: tracked };
}

/** Acquires something on `name` through `session` and returns how to give it back. */
export type Acquire = (session: Session, name: string) => Promise<{ unlock(): Promise<void> } | void>;

/**
 * Uncontended acquisitions create no watch at all: a fresh client that acquires and releases
 * `cycles` times never opens its watch stream (no predecessor: nothing to wait for).
 */
export async function checkUncontendedNeedsNoWatch(fx: PrimitiveFixture, name: string, acquire: Acquire, cycles = 3): Promise<void> {
  const session = await fx.session();
  for (let i = 0; i < cycles; i += 1) {
    const held = await acquire(session, name);
    await held?.unlock();
  }
  expect(session.client.streamStats().watchStreams).toBe(0);
  expect(session.client.streamStats().watchers).toBe(0);
  expect(await fx.keysUnder(`${name}/`)).toEqual([]);
}

/**
 * Waiters on one client share its one watch stream: `waiters` sessions on the same client
 * queue behind a holder; all their watches ride a single stream, and each is granted in turn.
 */
export async function checkWaitersShareOneStream(fx: PrimitiveFixture, name: string, acquire: Acquire, waiters = 3): Promise<void> {
  const holder = await acquire(await fx.session(), name);
  const shared = fx.client();
  const sessions = await Promise.all(Array.from({ length: waiters }, () => Session.create(shared, { ttlSeconds: 10 })));
  const waiting = sessions.map((s) => acquire(s, name));
  await waitFor(async () => expect(await fx.keysUnder(`${name}/`)).toHaveLength(waiters + 1));
  await waitFor(() => expect(shared.streamStats().watchers).toBeGreaterThanOrEqual(waiters));
  expect(shared.streamStats().watchStreams).toBe(1);
  await holder?.unlock();
  // Granted in queue order (create revision), which need not be the order they were started in.
  const remaining = new Map(waiting.map((promise, index) => [index, promise.then((held) => ({ index, held }))]));
  while (remaining.size > 0) {
    const { index, held } = await Promise.race(remaining.values());
    remaining.delete(index);
    await held?.unlock();
  }
  expect(shared.streamStats().watchStreams).toBe(1);
}
