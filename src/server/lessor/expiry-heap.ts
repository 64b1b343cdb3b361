/**
 * A binary min-heap of (dueMs, id) pairs (ties by id) with lazy deletion: an entry is stale when the
 * lease's current due time differs, and the consumer skips it. Bounded by the number of
 * leases plus the reschedules (renewals) not yet popped; the lessor rebuilds it from the
 * live deadlines when stale entries outnumber them (see Lessor.schedule).
 */
export class ExpiryHeap {
  private readonly dues: number[] = [];
  private readonly ids: bigint[] = [];

  get size(): number {
    return this.dues.length;
  }

  push(dueMs: number, id: bigint): void {
    let i = this.dues.length;
    this.dues.push(dueMs);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  peekDue(): number | undefined {
    return this.dues[0];
  }

  pop(): { dueMs: number; id: bigint } | undefined {
    if (this.dues.length === 0) return undefined;
    const top = { dueMs: this.dues[0]!, id: this.ids[0]! };
    const lastDue = this.dues.pop()!;
    const lastId = this.ids.pop()!;
    if (this.dues.length > 0) {
      this.dues[0] = lastDue;
      this.ids[0] = lastId;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.dues.length && this.less(l, m)) m = l;
        if (r < this.dues.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.dues.length = 0;
    this.ids.length = 0;
  }

  /** Due time first, then id, so that equal deadlines come out in a deterministic order. */
  private less(a: number, b: number): boolean {
    const da = this.dues[a]!;
    const db = this.dues[b]!;
    return da < db || (da === db && this.ids[a]! < this.ids[b]!);
  }

  private swap(a: number, b: number): void {
    [this.dues[a], this.dues[b]] = [this.dues[b]!, this.dues[a]!];
    [this.ids[a], this.ids[b]] = [this.ids[b]!, this.ids[a]!];
  }
}
