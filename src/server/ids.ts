import { createHash } from 'node:crypto';

/**
 * Member and cluster ids, computed the way etcd does so that a cluster started with the same
 * flags gets the same ids on every member: a member's id is the first 8 bytes (big-endian) of
 * SHA-1 over its sorted peer URLs and the cluster token; the cluster id hashes the sorted
 * member ids. A member added at runtime mixes in the time, so re-adding the same URLs gives a
 * new id (etcd does the same).
 */
export function computeMemberId(peerUrls: readonly string[], clusterToken: string, addedAtMs?: number): bigint {
  const hash = createHash('sha1');
  hash.update([...peerUrls].sort().join(''));
  hash.update(clusterToken);
  if (addedAtMs !== undefined) hash.update(String(Math.floor(addedAtMs / 1000)));
  return nonZero(hash.digest().readBigUInt64BE(0));
}

export function computeClusterId(memberIds: readonly bigint[]): bigint {
  const hash = createHash('sha1');
  const buffer = Buffer.alloc(8);
  for (const id of [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    buffer.writeBigUInt64BE(id);
    hash.update(buffer);
  }
  return nonZero(hash.digest().readBigUInt64BE(0));
}

function nonZero(id: bigint): bigint {
  return id === 0n ? 1n : id;
}

/**
 * Unique 64-bit ids for proposals and leases (the scheme of etcd's idutil): the low 16 bits of
 * the member id, then 40 bits of the start time in milliseconds, then an 8-bit counter that
 * carries into the time bits. Unique across members (different prefixes) and across restarts
 * (the time moves on) as long as a member makes fewer than 256 ids per millisecond on average
 * since it started.
 */
export class IdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  constructor(memberId: bigint, wallClockMs: number) {
    this.prefix = (memberId & 0xffffn) << 48n;
    this.suffix = (BigInt(Math.floor(wallClockMs)) & ((1n << 40n) - 1n)) << 8n;
  }

  next(): bigint {
    this.suffix = (this.suffix + 1n) & ((1n << 48n) - 1n);
    return this.prefix | this.suffix;
  }

  /** A lease id: positive as a signed 64-bit integer, never 0 (etcd masks the sign bit too). */
  nextLeaseId(): bigint {
    for (;;) {
      const id = this.next() & ((1n << 63n) - 1n);
      if (id !== 0n) return id;
    }
  }
}
