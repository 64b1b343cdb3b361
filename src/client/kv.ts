/**
 * Awaitable builders for range, put, delete and txn. A builder collects options and runs when
 * awaited (each `await` runs it again); `spec()` gives the plain operation for use inside a txn.
 *
 *   const { kvs } = await client.get('jobs/').prefix().limit(10);
 *   await client.txn().if(compare.absent('k')).do(client.put('k', 'v')).else(client.get('k'));
 */
import { requireInteger } from '../base/index.js';
import { FROM_KEY, prefixEnd, toBytes } from './keys.js';
import type { Key } from './keys.js';
import type { CompareSpec, DeleteSpec, OpSpec, PutSpec, RangeSpec, SortOrder, SortTarget, TxnSpec } from './ops.js';
import type { KeyValue, DeleteResult, PutResult, RangeResult, TxnResult } from './results.js';
import type { CallOptions } from './transport.js';

/** What builders run against (the Client implements it). */
export interface KvExecutor {
  execRange(spec: RangeSpec, options: CallOptions): Promise<RangeResult>;
  execPut(spec: PutSpec, options: CallOptions): Promise<PutResult>;
  execDelete(spec: DeleteSpec, options: CallOptions): Promise<DeleteResult>;
  execTxn(spec: TxnSpec, options: CallOptions): Promise<TxnResult>;
}

/** Anything that can be an op inside a txn: a builder or a plain spec. */
export type OpLike = OpSpec | { spec(): OpSpec };

abstract class Builder<T> implements PromiseLike<T> {
  protected callOptions: { signal?: AbortSignal; timeoutMs?: number } = {};

  /** Aborts the call with this signal. */
  signal(signal: AbortSignal): this {
    this.callOptions.signal = signal;
    return this;
  }

  /** Overall time limit for this call (including retries). */
  timeout(timeoutMs: number): this {
    this.callOptions.timeoutMs = requireInteger('timeoutMs', timeoutMs, 1);
    return this;
  }

  protected abstract exec(): Promise<T>;

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let running: Promise<T>;
    try {
      running = this.exec();
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class RangeBuilder extends Builder<RangeResult> {
  private readonly s: Mutable<RangeSpec>;

  constructor(private readonly executor: KvExecutor, key: Key) {
    super();
    this.s = {
      type: 'range', key: toBytes(key), rangeEnd: new Uint8Array(0), limit: 0n, revision: 0n, sortTarget: 'key',
      sortOrder: 'none', serializable: false, keysOnly: false, countOnly: false, minModRevision: 0n,
      maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
    };
  }

  /** Every key that starts with the key. */
  prefix(): this {
    this.s.rangeEnd = prefixEnd(this.s.key);
    return this;
  }

  /** Every key greater than or equal to the key. */
  fromKey(): this {
    this.s.rangeEnd = FROM_KEY;
    return this;
  }

  /** Keys in [key, end). */
  to(end: Key): this {
    this.s.rangeEnd = toBytes(end);
    return this;
  }

  limit(count: number | bigint): this {
    this.s.limit = BigInt(count);
    return this;
  }

  /** Read the store as of this revision (must not be compacted). */
  revision(revision: bigint | number): this {
    this.s.revision = BigInt(revision);
    return this;
  }

  sort(target: SortTarget, order: SortOrder = 'ascend'): this {
    this.s.sortTarget = target;
    this.s.sortOrder = order;
    return this;
  }

  /** Read the answering member's local state: faster, possibly stale. */
  serializable(): this {
    this.s.serializable = true;
    return this;
  }

  keysOnly(): this {
    this.s.keysOnly = true;
    return this;
  }

  countOnly(): this {
    this.s.countOnly = true;
    return this;
  }

  minModRevision(revision: bigint): this {
    this.s.minModRevision = revision;
    return this;
  }

  maxModRevision(revision: bigint): this {
    this.s.maxModRevision = revision;
    return this;
  }

  minCreateRevision(revision: bigint): this {
    this.s.minCreateRevision = revision;
    return this;
  }

  maxCreateRevision(revision: bigint): this {
    this.s.maxCreateRevision = revision;
    return this;
  }

  spec(): RangeSpec {
    return { ...this.s };
  }

  /** The first key-value, or undefined when the range is empty. */
  async first(): Promise<KeyValue | undefined> {
    return (await this.exec()).kvs[0];
  }

  /** The first value as a string, or undefined when the range is empty. */
  async string(): Promise<string | undefined> {
    return (await this.first())?.value;
  }

  protected exec(): Promise<RangeResult> {
    // The executor turns the spec into a request before returning: no copy needed.
    return this.executor.execRange(this.s, this.callOptions);
  }
}

export class PutBuilder extends Builder<PutResult> {
  private readonly s: Mutable<PutSpec>;

  constructor(private readonly executor: KvExecutor, key: Key, value: Key) {
    super();
    this.s = { type: 'put', key: toBytes(key), value: toBytes(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
  }

  /** Attach the key to a lease: it is deleted when the lease ends. */
  lease(leaseId: bigint): this {
    this.s.lease = leaseId;
    return this;
  }

  /** Return the previous key-value. */
  prevKv(): this {
    this.s.prevKv = true;
    return this;
  }

  /** Keep the current value (the key must exist; the value given must be empty). */
  ignoreValue(): this {
    this.s.ignoreValue = true;
    return this;
  }

  /** Keep the current lease (the key must exist). */
  ignoreLease(): this {
    this.s.ignoreLease = true;
    return this;
  }

  spec(): PutSpec {
    return { ...this.s };
  }

  protected exec(): Promise<PutResult> {
    // The executor turns the spec into a request before returning: no copy needed.
    return this.executor.execPut(this.s, this.callOptions);
  }
}

export class DeleteBuilder extends Builder<DeleteResult> {
  private readonly s: Mutable<DeleteSpec>;

  constructor(private readonly executor: KvExecutor, key: Key) {
    super();
    this.s = { type: 'delete', key: toBytes(key), rangeEnd: new Uint8Array(0), prevKv: false };
  }

  prefix(): this {
    this.s.rangeEnd = prefixEnd(this.s.key);
    return this;
  }

  fromKey(): this {
    this.s.rangeEnd = FROM_KEY;
    return this;
  }

  to(end: Key): this {
    this.s.rangeEnd = toBytes(end);
    return this;
  }

  prevKv(): this {
    this.s.prevKv = true;
    return this;
  }

  spec(): DeleteSpec {
    return { ...this.s };
  }

  protected exec(): Promise<DeleteResult> {
    // The executor turns the spec into a request before returning: no copy needed.
    return this.executor.execDelete(this.s, this.callOptions);
  }
}

export function toOpSpec(op: OpLike): OpSpec {
  return 'spec' in op && typeof op.spec === 'function' ? op.spec() : (op as OpSpec);
}

/** `if` (all compares hold) `do` these ops, `else` those; one revision for all its writes. */
export class TxnBuilder extends Builder<TxnResult> {
  private readonly compares: CompareSpec[] = [];
  private readonly success: OpSpec[] = [];
  private readonly failure: OpSpec[] = [];

  constructor(private readonly executor: KvExecutor) {
    super();
  }

  if(...compares: CompareSpec[]): this {
    this.compares.push(...compares);
    return this;
  }

  do(...ops: OpLike[]): this {
    this.success.push(...ops.map(toOpSpec));
    return this;
  }

  else(...ops: OpLike[]): this {
    this.failure.push(...ops.map(toOpSpec));
    return this;
  }

  spec(): TxnSpec {
    return { type: 'txn', compares: [...this.compares], success: [...this.success], failure: [...this.failure] };
  }

  protected exec(): Promise<TxnResult> {
    return this.executor.execTxn({ type: 'txn', compares: this.compares, success: this.success, failure: this.failure }, this.callOptions);
  }
}
