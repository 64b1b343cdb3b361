import { assert } from '../../base/assert.js';

/**
 * The flow-control window of one follower in replicate state: the append messages sent but
 * not yet acknowledged, each recorded by its last index and payload bytes. The window is full
 * when it holds `capacity` messages or at least `maxBytes` bytes (0 = no byte limit).
 * Invariant: recorded indexes are strictly increasing (messages are sent in log order).
 */
export class Inflights {
  private readonly indexes: number[];
  private readonly sizes: number[];
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes: number,
  ) {
    this.indexes = new Array<number>(capacity).fill(0);
    this.sizes = new Array<number>(capacity).fill(0);
  }

  get length(): number {
    return this.count;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  full(): boolean {
    return this.count === this.capacity || (this.maxBytes !== 0 && this.bytes >= this.maxBytes);
  }

  /** Records a message ending at `index` carrying `bytes` of payload. The caller checks full() first. */
  add(index: number, bytes: number): void {
    assert(this.count < this.capacity, 'cannot add into a full inflights window');
    const slot = (this.start + this.count) % this.capacity;
    if (this.count > 0) {
      const lastSlot = (slot + this.capacity - 1) % this.capacity;
      assert(index > this.indexes[lastSlot]!, () => `inflight index ${index} is not above ${this.indexes[lastSlot]}`);
    }
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.count += 1;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is at most `index` (they are acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.indexes[this.start]! <= index) {
      this.bytes -= this.sizes[this.start]!;
      this.start = (this.start + 1) % this.capacity;
      this.count -= 1;
    }
    if (this.count === 0) this.start = 0;
  }

  /** Makes `target` (of the same capacity) hold the same window as this one. */
  copyInto(target: Inflights): void {
    target.reset();
    for (let i = 0; i < this.count; i++) {
      const slot = (this.start + i) % this.capacity;
      target.add(this.indexes[slot]!, this.sizes[slot]!);
    }
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
