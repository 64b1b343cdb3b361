// Test helpers for MVCC suites: byte/string conversion and a tiny "raft log" that hands
// the store one entry at a time with increasing indexes, as the server's applier will.
import type { Backend } from '../../src/storage/backend/backend.js';
import type { ApplyResult, MvccStoreOptions, WriteRequest } from '../../src/mvcc/kv-store.js';
import { MvccStore } from '../../src/mvcc/kv-store.js';
import type { KeyValue, ResponseOp } from '../../src/mvcc/types.js';

export const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
export const s = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

/** A KeyValue as a compact string: key=value@create/mod/version[/lease]. */
export function kvText(kv: KeyValue): string {
  return `${s(kv.key)}=${s(kv.value)}@${kv.createRevision}/${kv.modRevision}/${kv.version}${kv.lease === 0n ? '' : `/L${kv.lease}`}`;
}

export class Log {
  index = 0;
  constructor(readonly store: MvccStore) {}

  static open(backend: Backend, options: MvccStoreOptions = {}): Log {
    return new Log(MvccStore.open(backend, options));
  }

  /** Applies `request` as the next entry; returns the response or throws its etcd error. */
  apply(request: WriteRequest): ResponseOp | { compact: { revision: number } } {
    const result = this.applyResult(request);
    if (result.kind === 'error') throw result.error;
    if (result.kind !== 'ok') throw new Error('entry was skipped');
    return result.response;
  }

  applyResult(request: WriteRequest): ApplyResult {
    this.index += 1;
    return this.store.apply({ index: this.index, term: 1 }, request);
  }

  put(key: string, value: string, extra: { lease?: bigint } = {}): number {
    const response = this.apply({ put: { key: b(key), value: b(value), ...extra } });
    if (!('put' in response)) throw new Error('not a put response');
    return response.put.revision;
  }

  del(key: string, rangeEnd?: string): number {
    const response = this.apply({ deleteRange: { key: b(key), ...(rangeEnd === undefined ? {} : { rangeEnd: b(rangeEnd) }) } });
    if (!('deleteRange' in response)) throw new Error('not a delete response');
    return response.deleteRange.deleted;
  }

  compact(revision: number): void {
    this.apply({ compact: { revision } });
  }

  get(key: string, revision = 0): string[] {
    return this.store.range({ key: b(key), revision }).kvs.map(kvText);
  }
}
