/**
 * Software transactional memory over etcd's txn, with the isolation levels of etcd's Go
 * `concurrency.STM`:
 *
 * - `serializable`: the first read fixes the transaction's revision; every later read is
 *   served at that revision, so the body sees one snapshot. Commit compares the mod revision
 *   of every key read.
 * - `serializable-snapshot`: as serializable, and commit also fails if any key written was
 *   modified after the snapshot revision (no write skew through blind writes).
 * - `repeatable-read`: each key is read at the latest revision the first time it is read and
 *   then cached; commit compares the mod revision of every key read. Different keys may come
 *   from different revisions, so the body may see a state that never existed (the commit of
 *   such an attempt fails and it is retried, but its side effects inside the body happened).
 * - `read-committed`: reads as repeatable-read, commit compares nothing.
 *
 * The body runs again from scratch on conflict, up to `maxAttempts` times. It must not have
 * side effects outside `tx` that cannot run twice. The commit txn is a write and is never
 * resent after a transport error whose outcome is unknown: that error reaches the caller.
 */
import { InvalidOptionError, linkSignals, requireInteger, throwIfAborted } from '../base/index.js';
import { compare } from '../client/index.js';
import type { Client, CompareSpec, KeyValue, OpLike, RangeResult } from '../client/index.js';
import { StmConflictError } from './errors.js';

export type StmIsolation = 'serializable' | 'serializable-snapshot' | 'repeatable-read' | 'read-committed';

export interface StmOptions {
  /** Default 'serializable' (etcd's default is serializable-snapshot; see docs/stm.md). */
  readonly isolation?: StmIsolation;
  /** Attempts before StmConflictError. Default 64. */
  readonly maxAttempts?: number;
  /** Aborts between attempts and in flight; rejects with its reason. */
  readonly signal?: AbortSignal;
  /** Called before every retry with the attempt number that failed (1-based), e.g. for metrics. */
  readonly onConflict?: (attempt: number) => void;
}

/** What the transaction body reads and writes through. */
export interface StmTx {
  /** The key's value (undefined when absent or deleted in this transaction). */
  get(key: string): Promise<string | undefined>;
  /** The key's mod revision as read (0n when absent), as etcd's `Rev`. */
  rev(key: string): Promise<bigint>;
  /** Buffers a put, applied at commit. */
  put(key: string, value: string, options?: { lease?: bigint }): void;
  /** Buffers a delete, applied at commit. */
  delete(key: string): void;
  /** Which attempt this is (1-based). */
  readonly attempt: number;
}

export interface StmResult<T> {
  readonly value: T;
  /** Revision of the committing txn (the store revision when nothing was written). */
  readonly revision: bigint;
  readonly attempts: number;
}

const isolations: readonly StmIsolation[] = ['serializable', 'serializable-snapshot', 'repeatable-read', 'read-committed'];

type Write = { readonly kind: 'put'; readonly value: string; readonly lease: bigint } | { readonly kind: 'delete' };

class Attempt implements StmTx {
  /** Key -> what the read returned, with the header revision it was served at. */
  readonly reads = new Map<string, { kv: KeyValue | undefined; headerRevision: bigint }>();
  readonly writes = new Map<string, Write>();
  private snapshotRevision: bigint | undefined;

  constructor(
    private readonly client: Client,
    private readonly isolation: StmIsolation,
    private readonly signal: AbortSignal,
    readonly attempt: number,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const written = this.writes.get(key);
    if (written !== undefined) return written.kind === 'put' ? written.value : undefined;
    return (await this.read(key))?.value;
  }

  async rev(key: string): Promise<bigint> {
    return (await this.read(key))?.modRevision ?? 0n;
  }

  put(key: string, value: string, options: { lease?: bigint } = {}): void {
    requireStmKey(key);
    if (typeof value !== 'string') throw new InvalidOptionError('value', 'must be a string');
    this.writes.set(key, { kind: 'put', value, lease: options.lease ?? 0n });
  }

  delete(key: string): void {
    requireStmKey(key);
    this.writes.set(key, { kind: 'delete' });
  }

  private async read(key: string): Promise<KeyValue | undefined> {
    requireStmKey(key);
    const cached = this.reads.get(key);
    if (cached !== undefined) return cached.kv;
    throwIfAborted(this.signal);
    const pinned = this.isolation === 'serializable' || this.isolation === 'serializable-snapshot';
    let builder = this.client.get(key).signal(this.signal);
    // etcd pins later reads to the first read's revision and lets any member serve them.
    if (pinned && this.snapshotRevision !== undefined) builder = builder.revision(this.snapshotRevision).serializable();
    const result: RangeResult = await builder;
    if (pinned && this.snapshotRevision === undefined) this.snapshotRevision = result.header.revision;
    const kv = result.kvs[0];
    this.reads.set(key, { kv, headerRevision: result.header.revision });
    return kv;
  }

  /** The commit's compares for this isolation level. */
  conflicts(): CompareSpec[] {
    if (this.isolation === 'read-committed') return [];
    const compares: CompareSpec[] = [];
    let firstRevision: bigint | undefined;
    for (const [key, read] of this.reads) {
      compares.push(compare.modRevision(key, '==', read.kv?.modRevision ?? 0n));
      if (firstRevision === undefined || read.headerRevision < firstRevision) firstRevision = read.headerRevision;
    }
    if (this.isolation === 'serializable-snapshot' && firstRevision !== undefined) {
      for (const key of this.writes.keys()) if (!this.reads.has(key)) compares.push(compare.modRevision(key, '<', firstRevision + 1n));
    }
    return compares;
  }

  ops(): OpLike[] {
    return [...this.writes].map(([key, write]) => (write.kind === 'put'
      ? this.client.put(key, write.value).lease(write.lease)
      : this.client.delete(key)));
  }
}

function requireStmKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidOptionError('key', 'must be a non-empty string');
}

/**
 * Runs `body` as a transaction and commits its writes atomically if nothing it read changed
 * meanwhile (per `isolation`); otherwise runs it again. Resolves with the body's result.
 */
export async function stm<T>(client: Client, body: (tx: StmTx) => Promise<T> | T, options: StmOptions = {}): Promise<T> {
  return (await stmWithResult(client, body, options)).value;
}

/** As `stm`, and also reports the commit revision and the number of attempts. */
export async function stmWithResult<T>(client: Client, body: (tx: StmTx) => Promise<T> | T, options: StmOptions = {}): Promise<StmResult<T>> {
  if (typeof body !== 'function') throw new InvalidOptionError('body', 'must be a function');
  const isolation = options.isolation ?? 'serializable';
  if (!isolations.includes(isolation)) throw new InvalidOptionError('isolation', `must be one of ${isolations.join(', ')}`);
  const maxAttempts = requireInteger('maxAttempts', options.maxAttempts ?? 64, 1, 1_000_000);
  const linked = linkSignals(options.signal, client.signal);
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      throwIfAborted(linked.signal);
      const tx = new Attempt(client, isolation, linked.signal, attempt);
      const value = await body(tx);
      const compares = tx.conflicts();
      const ops = tx.ops();
      if (ops.length === 0 && isolation === 'read-committed') {
        return { value, revision: lastRevision(tx), attempts: attempt };
      }
      const result = await client.txn().if(...compares).do(...ops).signal(linked.signal);
      if (result.succeeded) return { value, revision: result.header.revision, attempts: attempt };
      options.onConflict?.(attempt);
    }
    throw new StmConflictError(maxAttempts);
  } finally {
    linked.dispose();
  }
}

function lastRevision(tx: Attempt): bigint {
  let revision = 0n;
  for (const read of tx.reads.values()) if (read.headerRevision > revision) revision = read.headerRevision;
  return revision;
}

