// The reference model for property tests: the whole key space copied at every revision, so
// a read at revision r is just a lookup in states[r]. Deliberately naive: no index, no
// generations, no backend. Keys and values are latin1 strings.
export interface ModelKv {
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
  lease: bigint;
}

export type ModelOp =
  | { kind: 'put'; key: string; value: string; lease: bigint; prevKv: boolean; ignoreValue: boolean; ignoreLease: boolean }
  | { kind: 'del'; key: string; end: string | undefined; prevKv: boolean }
  | { kind: 'range'; key: string; end: string | undefined; revision: number; limit: number; sortOrder: 'none' | 'ascend' | 'descend'; sortTarget: 'key' | 'version' | 'create' | 'mod' | 'value'; keysOnly: boolean; countOnly: boolean; minMod: number; maxCreate: number };

export interface ModelCompare {
  key: string;
  end: string | undefined;
  target: 'version' | 'create' | 'mod' | 'value' | 'lease';
  result: 'equal' | 'greater' | 'less' | 'not_equal';
  operand: string; // a number, a bigint or a value, by target
}

/** Outcomes are plain data so that model and store can be compared with toEqual. */
export type Outcome = { error: string } | { ok: unknown };

export class KvModel {
  /** states[r] = the key space at revision r (states[0] unused, states[1] empty). */
  states: Array<Map<string, ModelKv>> = [new Map(), new Map()];
  compacted = 0;
  constructor(readonly leases: ReadonlySet<bigint>) {}

  get rev(): number {
    return this.states.length - 1;
  }

  private inRange(key: string, start: string, end: string | undefined): boolean {
    if (end === undefined || end === '') return key === start;
    if (end === '\0') return key >= start;
    return key >= start && key < end;
  }

  put(op: Extract<ModelOp, { kind: 'put' }>): Outcome {
    return this.txn([], [op], []);
  }

  del(op: Extract<ModelOp, { kind: 'del' }>): Outcome {
    return this.txn([], [op], []);
  }

  compact(revision: number): Outcome {
    if (revision <= this.compacted) return { error: 'ERR_MVCC_COMPACTED' };
    if (revision > this.rev) return { error: 'ERR_MVCC_FUTURE_REVISION' };
    this.compacted = revision;
    return { ok: revision };
  }

  range(op: Extract<ModelOp, { kind: 'range' }>, viewRev = this.rev, state?: Map<string, ModelKv>): Outcome {
    let at = viewRev;
    if (op.revision > 0) {
      if (op.revision > viewRev) return { error: 'ERR_MVCC_FUTURE_REVISION' };
      if (op.revision < this.compacted) return { error: 'ERR_MVCC_COMPACTED' };
      at = op.revision;
    }
    const source = op.revision > 0 || state === undefined ? this.states[at]! : state;
    const all = [...source.values()].filter((kv) => this.inRange(kv.key, op.key, op.end)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const count = all.length;
    if (op.countOnly) return { ok: { count, more: false, kvs: [] } };
    let kvs = all.filter((kv) => (op.minMod === 0 || kv.mod >= op.minMod) && (op.maxCreate === 0 || kv.create <= op.maxCreate));
    const field = (kv: ModelKv): number | string => ({ key: kv.key, version: kv.version, create: kv.create, mod: kv.mod, value: kv.value })[op.sortTarget];
    if (op.sortTarget === 'key') {
      if (op.sortOrder === 'descend') kvs.reverse();
    } else {
      const sign = op.sortOrder === 'descend' ? -1 : 1;
      kvs = kvs.map((kv, i) => ({ kv, i })).sort((x, y) => {
        const a = field(x.kv);
        const b = field(y.kv);
        return a < b ? -sign : a > b ? sign : x.i - y.i;
      }).map(({ kv }) => kv);
    }
    const more = op.limit > 0 && kvs.length > op.limit;
    if (more) kvs = kvs.slice(0, op.limit);
    return { ok: { count, more, kvs: kvs.map((kv) => ({ ...kv, value: op.keysOnly ? '' : kv.value })) } };
  }

  /** A flat txn (no nesting): compares against the latest state, then one branch in order. */
  txn(compares: ModelCompare[], success: ModelOp[], failure: ModelOp[]): Outcome {
    for (const branch of [success, failure]) if (this.hasDuplicate(branch)) return { error: 'ERR_DUPLICATE_KEY' };
    const before = this.states[this.rev]!;
    const succeeded = compares.every((c) => this.compare(c, before));
    const ops = succeeded ? success : failure;
    // Apply-time checks against the state before the txn; an ignore_* put after a
    // from-key delete that covers it is refused too (see ApplyTxn.checkOps).
    const fromKeyDeletes: string[] = [];
    for (const op of ops) {
      if (op.kind === 'del' && op.end === '\0') fromKeyDeletes.push(op.key);
      if (op.kind === 'put') {
        if (!op.ignoreLease && op.lease !== 0n && !this.leases.has(op.lease)) return { error: 'ERR_LEASE_NOT_FOUND' };
        if ((op.ignoreValue || op.ignoreLease) && (!before.has(op.key) || fromKeyDeletes.some((start) => op.key >= start))) return { error: 'ERR_KEY_NOT_FOUND' };
      } else if (op.kind === 'range' && op.revision > 0) {
        if (op.revision > this.rev) return { error: 'ERR_MVCC_FUTURE_REVISION' };
        if (op.revision < this.compacted) return { error: 'ERR_MVCC_COMPACTED' };
      }
    }
    const next = new Map(before);
    const newRev = this.rev + 1;
    let changed = false;
    const responses: unknown[] = [];
    for (const op of ops) {
      if (op.kind === 'put') {
        const prev = next.get(op.key);
        next.set(op.key, {
          key: op.key,
          value: op.ignoreValue ? prev!.value : op.value,
          create: prev?.create ?? newRev,
          mod: newRev,
          version: (prev?.version ?? 0) + 1,
          lease: op.ignoreLease ? prev!.lease : op.lease,
        });
        changed = true;
        responses.push({ put: op.prevKv && prev !== undefined ? { prevKv: prev } : {} });
      } else if (op.kind === 'del') {
        const victims = [...next.values()].filter((kv) => this.inRange(kv.key, op.key, op.end)).sort((a, b) => (a.key < b.key ? -1 : 1));
        for (const kv of victims) next.delete(kv.key);
        if (victims.length > 0) changed = true;
        responses.push({ del: { deleted: victims.length, prevKvs: op.prevKv ? victims : [] } });
      } else {
        responses.push({ range: this.range(op, changed ? newRev : this.rev, next) });
      }
    }
    if (changed) this.states.push(next);
    return { ok: { succeeded, revision: this.rev, responses } };
  }

  private compare(c: ModelCompare, state: Map<string, ModelKv>): boolean {
    const kvs = [...state.values()].filter((kv) => this.inRange(kv.key, c.key, c.end));
    if (kvs.length === 0) {
      if (c.target === 'value') return false;
      kvs.push({ key: c.key, value: '', create: 0, mod: 0, version: 0, lease: 0n });
    }
    return kvs.every((kv) => {
      let order: number;
      if (c.target === 'value') order = kv.value < c.operand ? -1 : kv.value > c.operand ? 1 : 0;
      else if (c.target === 'lease') order = kv.lease < BigInt(c.operand) ? -1 : kv.lease > BigInt(c.operand) ? 1 : 0;
      else order = Math.sign(kv[c.target] - Number(c.operand));
      return { equal: order === 0, not_equal: order !== 0, greater: order > 0, less: order < 0 }[c.result];
    });
  }

  /** Two puts of one key, or a put inside a delete's raw interval, in the same branch. */
  private hasDuplicate(ops: ModelOp[]): boolean {
    const puts = ops.filter((op) => op.kind === 'put').map((op) => op.key);
    if (new Set(puts).size !== puts.length) return true;
    return ops.some((d) => d.kind === 'del' && puts.some((key) => (d.end === undefined || d.end === '' ? key === d.key : key >= d.key && key < d.end)));
  }
}
