/**
 * The chaos workloads, each recording the history its checker reads:
 *   registers  read / write / compare-and-set on a sliding window of keys, through the SDK;
 *              a failed write or CAS is indeterminate (it may have been applied), a failed
 *              read says nothing. `serializableReads` plants stale reads for the bite tests.
 *   locks      workers take a Mutex and write to an in-process resource guarded by a
 *              FencingGuard, then confirm their key still stands; `skipPredecessorWait`
 *              plants a Mutex that does not wait for its predecessor.
 *   leases     keys attached to short leases that are never kept alive; when each key was
 *              deleted (bounded by a watch sighting and by the answers whose header revision
 *              reached the deletion's, see check/leases.ts) is compared with its lease's bounds.
 */
import { Client, FencingGuard, Mutex, compare } from '../../src/index.js';
import type { Session } from '../../src/index.js';
import type { RegisterInput, RegisterOp, RegisterOutput } from './check/linearizability.js';
import type { CriticalSection, ResourceWrite } from './check/locks.js';
import type { LeaseRecord, RevisionSample } from './check/leases.js';
import type { AcknowledgedPut } from './check/watches.js';
import { sleep } from './cluster.js';
import type { SeededRandom } from '../../src/base/random.js';

export const now = (): number => performance.now();

export interface WorkloadContext {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly random: SeededRandom;
  readonly signal: AbortSignal;
  readonly plant: ReadonlySet<string>;
}

/** A client over every member; `rotate` picks the member it starts on (workers spread over the members). */
export function newClient(ctx: WorkloadContext, callTimeoutMs = 2_500, rotate = 0): Client {
  const n = ctx.endpoints.length;
  const endpoints = ctx.endpoints.map((_, i) => ctx.endpoints[(i + rotate) % n]!);
  return new Client({ endpoints, callTimeoutMs, keepAliveTimeoutMs: 2_000 });
}

export class RegisterWorkload {
  readonly ops: RegisterOp[] = [];
  /** Why operations failed, by message (for the report). */
  readonly errors = new Map<string, number>();
  readonly acknowledged: AcknowledgedPut[] = [];
  /** Every answer's header revision and when it came (the lease checker's clock of revisions). */
  readonly revisions: RevisionSample[] = [];
  private window = 0;
  private started = 0;

  constructor(private readonly ctx: WorkloadContext, readonly clients: number, readonly keysPerWindow = 4, readonly opsPerWindow = 400) {}

  keys(): number {
    return new Set(this.ops.map((op) => op.key)).size;
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.clients }, (_, i) => this.worker(i)));
  }

  private async worker(id: number): Promise<void> {
    const { ctx } = this;
    // Like an application would, a worker whose member keeps failing moves to the next one.
    let rotate = id;
    let client = newClient(ctx, 2_500, rotate);
    let failures = 0;
    const last = new Map<string, string | null>();
    let sequence = 0;
    try {
      while (!ctx.signal.aborted) {
        if (++this.started % this.opsPerWindow === 0) this.window += 1;
        const key = `${ctx.prefix}reg/${this.window}/${ctx.random.int(this.keysPerWindow)}`;
        const roll = ctx.random.float();
        const input: RegisterInput = roll < 0.45 ? { kind: 'read' } : roll < 0.8 ? { kind: 'write', value: `c${id}-${sequence++}` } : { kind: 'cas', expected: last.get(key) ?? null, value: `c${id}-${sequence++}` };
        const callAt = now();
        let output: RegisterOutput | undefined;
        try {
          if (input.kind === 'read') {
            const builder = client.get(key);
            const result = await (ctx.plant.has('serializable-reads') ? builder.serializable() : builder);
            const value = result.kvs[0]?.value ?? null;
            output = { value };
            this.revisions.push({ revision: result.header.revision, at: now() });
            last.set(key, value);
          } else if (input.kind === 'write') {
            const result = await client.put(key, input.value);
            output = { ok: true };
            this.revisions.push({ revision: result.header.revision, at: now(), calledAt: callAt });
            this.acknowledged.push({ key, value: input.value, revision: result.header.revision });
            last.set(key, input.value);
          } else {
            const guard = input.expected === null ? compare.absent(key) : compare.value(key, '==', input.expected);
            const result = await client.txn().if(guard).do(client.put(key, input.value));
            output = { succeeded: result.succeeded };
            this.revisions.push({ revision: result.header.revision, at: now(), ...(result.succeeded ? { calledAt: callAt } : {}) });
            if (result.succeeded) {
              this.acknowledged.push({ key, value: input.value, revision: result.header.revision });
              last.set(key, input.value);
            }
          }
        } catch (error) {
          output = undefined;
          const message = (error as Error).message.slice(0, 80);
          this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
          if (++failures >= 2) {
            client.destroy();
            client = newClient(ctx, 2_500, ++rotate);
            failures = 0;
          }
          await sleep(50, ctx.signal);
        }
        if (output !== undefined) failures = 0;
        this.ops.push({ key, client: id, input, output, callAt, returnAt: now() });
      }
    } finally {
      client.destroy();
    }
  }
}

/** The protected resource: one in-process register behind a FencingGuard, every attempt recorded. */
export class FencedResource {
  readonly writes: ResourceWrite[] = [];
  private readonly guard = new FencingGuard();

  write(token: bigint, holder: number): boolean {
    const accepted = this.guard.accept('resource', token);
    this.writes.push({ token, holder, accepted });
    return accepted;
  }
}

export class LockWorkload {
  readonly resource = new FencedResource();
  readonly sections: CriticalSection[] = [];
  failures = 0;

  constructor(private readonly ctx: WorkloadContext, readonly workers: number, readonly ttlSeconds = 5) {}

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.workers }, (_, i) => this.worker(i)));
  }

  private async worker(id: number): Promise<void> {
    const { ctx } = this;
    let rotate = id;
    let client = newClient(ctx, 2_500, rotate);
    let session: Session | undefined;
    const name = `${ctx.prefix}lock`;
    try {
      while (!ctx.signal.aborted) {
        try {
          if (session === undefined || session.lost) session = await client.session({ ttlSeconds: this.ttlSeconds });
          const { key, token, release } = ctx.plant.has('mutex-without-predecessor-wait')
            ? await this.lockWithoutWaiting(client, session, name)
            : await this.lock(session, name);
          for (let i = 0; i < 3; i++) {
            this.resource.write(token, id);
            await sleep(5 + ctx.random.int(20));
          }
          // Still ours, by the same create revision: we held it throughout.
          const mine = await client.get(key);
          this.sections.push({ holder: id, token, confirmed: mine.kvs[0]?.createRevision === token });
          await release();
        } catch {
          this.failures += 1;
          // Start over on the next member, with a new session.
          void session?.close().catch(() => undefined);
          session = undefined;
          client.destroy();
          client = newClient(ctx, 2_500, ++rotate);
          await sleep(100, ctx.signal);
        }
      }
    } finally {
      client.destroy();
    }
  }

  private async lock(session: Session, name: string): Promise<{ key: string; token: bigint; release: () => Promise<void> }> {
    const held = await new Mutex(session, name).lock({ timeoutMs: 10_000, signal: this.ctx.signal });
    return { key: held.key, token: held.token, release: () => held.unlock() };
  }

  /** The planted bug: put our key and go, without waiting for the holders before us. */
  private async lockWithoutWaiting(client: Client, session: Session, name: string): Promise<{ key: string; token: bigint; release: () => Promise<void> }> {
    const key = `${name}/${session.leaseId.toString(16)}`;
    const result = await client.put(key, '').lease(session.leaseId);
    return { key, token: result.header.revision, release: async () => void (await client.delete(key)) };
  }
}

export class LeaseWorkload {
  readonly leases: LeaseRecord[] = [];
  /** The lease puts' header revisions and when they came (see RegisterWorkload.revisions). */
  readonly revisions: RevisionSample[] = [];

  constructor(private readonly ctx: WorkloadContext, readonly workers: number, readonly ttlSeconds: number, private readonly watchUntil: AbortSignal) {}

  async run(): Promise<void> {
    const { ctx } = this;
    const watcherClient = newClient(ctx);
    const byKey = new Map<string, LeaseRecord>();
    const watching = (async () => {
      const watcher = watcherClient.watch(`${ctx.prefix}lease/`, { prefix: true, noPut: true, signal: this.watchUntil });
      try {
        for await (const event of watcher) {
          const record = byKey.get(event.kv.key);
          if (record !== undefined && record.deletedSeenAt === undefined) {
            record.deletedSeenAt = now();
            record.deleteRevision = event.revision;
          }
        }
      } catch {
        // aborted at the end of the run
      }
    })();
    await Promise.all([...Array.from({ length: this.workers }, (_, id) => this.worker(id, byKey)), this.clock()]);
    await watching.catch(() => undefined);
    watcherClient.destroy();
  }

  /**
   * A write every 250 ms for as long as the deletion watch runs (past the other workloads'
   * end): the lease checker orders deletions against writes sent after their bound, so it
   * needs writes then, and they show when the cluster could commit.
   */
  private async clock(): Promise<void> {
    const client = newClient(this.ctx, 2_500, 1);
    try {
      for (let n = 0; !this.watchUntil.aborted; n++) {
        const calledAt = now();
        try {
          const put = await client.put(`${this.ctx.prefix}lease-clock`, String(n));
          this.revisions.push({ revision: put.header.revision, at: now(), calledAt });
        } catch {
          // no quorum now, or this member is down: the client moves on by itself
        }
        await sleep(250, this.watchUntil);
      }
    } finally {
      client.destroy();
    }
  }

  /** Keeps the watch open after the run so late deletions are seen; the caller aborts. */
  private async worker(id: number, byKey: Map<string, LeaseRecord>): Promise<void> {
    const { ctx } = this;
    let rotate = id;
    let client = newClient(ctx, 2_500, rotate);
    let sequence = 0;
    try {
      while (!ctx.signal.aborted) {
        const key = `${ctx.prefix}lease/${id}/${sequence++}`;
        try {
          const sentAt = now();
          const grant = await client.leaseGrant(this.ttlSeconds);
          const grantedAt = now();
          const putAt = now();
          const put = await client.put(key, 'x').lease(grant.id);
          this.revisions.push({ revision: put.header.revision, at: now(), calledAt: putAt });
          const record: LeaseRecord = { key, ttlSeconds: grant.ttlSeconds, sentAt, grantedAt, deletedSeenAt: undefined };
          byKey.set(key, record);
          this.leases.push(record);
        } catch {
          client.destroy();
          client = newClient(ctx, 2_500, ++rotate);
          await sleep(100, ctx.signal);
        }
        await sleep(300 + ctx.random.int(500), ctx.signal);
      }
    } finally {
      client.destroy();
    }
  }
}
