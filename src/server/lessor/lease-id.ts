import { INT64_MAX } from '../../base/int64.js';
import { requireInteger } from '../../base/validate.js';

/**
 * Lease ids for LeaseGrant with ID 0, chosen by the member that receives the request,
 * before proposing (so every member applies the same id), in the manner of etcd's idutil:
 * the member id's low 16 bits, then a 48-bit counter that starts from a time-based value
 * (so a restarted member does not reuse ids) and counts up; masked to a positive int64.
 * A collision is still caught at apply time (LeaseExistsError).
 */
export class LeaseIdGenerator {
  private counter: bigint;
  private readonly prefix: bigint;

  /** `startMs`: wall-clock milliseconds at startup (the server passes Date.now()). */
  constructor(memberId: bigint, startMs: number) {
    requireInteger('startMs', startMs, 0);
    this.prefix = (memberId & 0xffffn) << 48n;
    this.counter = (BigInt(startMs) << 8n) & 0xffff_ffff_ffffn;
  }

  next(): bigint {
    this.counter = (this.counter + 1n) & 0xffff_ffff_ffffn;
    const id = (this.prefix | this.counter) & INT64_MAX;
    return id === 0n ? this.next() : id;
  }
}
