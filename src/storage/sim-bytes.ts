/** A resizable byte array: the content of one simulated file in one view (durable or volatile). */
export class GrowableBytes {
  private data: Uint8Array;
  private length: number;

  constructor(initial?: Uint8Array) {
    this.data = initial ? initial.slice() : new Uint8Array(0);
    this.length = this.data.length;
  }

  get size(): number {
    return this.length;
  }

  private ensureCapacity(bytes: number): void {
    if (bytes <= this.data.length) return;
    const grown = new Uint8Array(Math.max(bytes, this.data.length * 2, 256));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }

  write(position: number, bytes: Uint8Array): void {
    const end = position + bytes.length;
    this.ensureCapacity(end);
    // Bytes between the old end and `position` must read as zeros (a hole).
    if (position > this.length) this.data.fill(0, this.length, position);
    this.data.set(bytes, position);
    this.length = Math.max(this.length, end);
  }

  truncate(sizeBytes: number): void {
    if (sizeBytes > this.length) {
      this.ensureCapacity(sizeBytes);
      this.data.fill(0, this.length, sizeBytes);
    }
    this.length = sizeBytes;
  }

  read(position: number, lengthBytes: number): Uint8Array {
    const end = Math.min(this.length, position + lengthBytes);
    return position >= end ? new Uint8Array(0) : this.data.slice(position, end);
  }

  /** A live view of the content; copy it before the file changes. */
  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }

  copy(): GrowableBytes {
    return new GrowableBytes(this.view());
  }
}
