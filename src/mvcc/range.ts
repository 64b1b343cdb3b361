import type { SortedMap } from '../storage/backend/sorted-map.js';
import { compareBytes } from '../storage/backend/bytes.js';
import { CompactedError, FutureRevisionError, InvalidSortOptionError } from './errors.js';
import type { KeyAt, KeyIndex } from './key-index.js';
import { entriesIn, resolveRange } from './key-range.js';
import type { KeyValue, RangeRequest, RangeResponse, SortTarget } from './types.js';

/** What a range needs from the store: the key index and a way to read stored KeyValues. */
export interface ReadView {
  readonly index: SortedMap<KeyIndex>;
  /** The newest revision this view sees (inside a write txn that has written: its revision). */
  readonly viewRevision: number;
  readonly compactRevision: number;
  readKv(main: number, sub: number): KeyValue;
}

const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];

/** Resolves the revision a read runs at, with etcd's future and compacted errors. */
export function readRevision(view: ReadView, requested: number | undefined): number {
  if (requested === undefined || requested <= 0) return view.viewRevision;
  if (requested > view.viewRevision) throw new FutureRevisionError(view.viewRevision);
  if (requested < view.compactRevision) throw new CompactedError(view.compactRevision);
  return requested;
}

/**
 * etcd's Range: every key of the interval alive at the read revision counts; then the
 * min/max filters, the sort, the limit (setting `more`), keys_only and count_only apply.
 * Ties in a non-key sort keep key order (etcd leaves them unspecified).
 */
export function executeRange(view: ReadView, req: RangeRequest): RangeResponse {
  const atRev = readRevision(view, req.revision);
  const sortOrder = req.sortOrder ?? 'none';
  const sortTarget = req.sortTarget ?? 'key';
  if (!['none', 'ascend', 'descend'].includes(sortOrder) || !SORT_TARGETS.includes(sortTarget)) throw new InvalidSortOptionError();
  const limit = req.limit !== undefined && req.limit > 0 ? req.limit : 0;
  const interval = resolveRange(req.key, req.rangeEnd);
  const found: KeyAt[] = [];
  for (const ki of entriesIn(view.index, interval)) {
    const at = ki.get(atRev);
    if (at !== undefined) found.push(at);
  }
  const count = found.length;
  if (req.countOnly) return { revision: view.viewRevision, kvs: [], more: false, count };

  const filtered = found.filter((at) =>
    (!req.minModRevision || at.modMain >= req.minModRevision) &&
    (!req.maxModRevision || at.modMain <= req.maxModRevision) &&
    (!req.minCreateRevision || at.createRevision >= req.minCreateRevision) &&
    (!req.maxCreateRevision || at.createRevision <= req.maxCreateRevision));

  const keyOrderAscending = sortTarget === 'key' && sortOrder !== 'descend';
  let kvs: KeyValue[];
  let more = false;
  if (keyOrderAscending) {
    // Already in key order: read only what the limit lets through.
    more = limit > 0 && filtered.length > limit;
    kvs = (more ? filtered.slice(0, limit) : filtered).map((at) => view.readKv(at.modMain, at.modSub));
  } else {
    kvs = filtered.map((at) => view.readKv(at.modMain, at.modSub));
    if (sortTarget === 'key') kvs.reverse();
    else {
      const sign = sortOrder === 'descend' ? -1 : 1;
      kvs.sort((a, b) => sign * compareTarget(sortTarget, a, b));
    }
    more = limit > 0 && kvs.length > limit;
    if (more) kvs = kvs.slice(0, limit);
  }
  if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
  return { revision: view.viewRevision, kvs, more, count };
}

function compareTarget(target: SortTarget, a: KeyValue, b: KeyValue): number {
  switch (target) {
    case 'version':
      return a.version - b.version;
    case 'create':
      return a.createRevision - b.createRevision;
    case 'mod':
      return a.modRevision - b.modRevision;
    case 'value':
      return compareBytes(a.value, b.value);
    default:
      return compareBytes(a.key, b.key);
  }
}
