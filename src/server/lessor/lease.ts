import type { ByteString } from '../../storage/backend/bytes.js';

/** A lease as the lessor holds it. */
export interface Lease {
  readonly id: bigint;
  /** The granted TTL after clamping to the minimum. */
  readonly ttlSeconds: number;
  /** The last checkpointed remaining TTL (0: none, use ttlSeconds). Replicated through raft. */
  remainingTtlSeconds: number;
  /** Primary only: when the lease expires on the injected clock (Infinity when not primary). */
  expiryMs: number;
  readonly keys: Set<ByteString>;
}

/** The lease bucket's key for a lease: its id as 8 big-endian bytes (one byte per char). */
export function leaseKey(id: bigint): ByteString {
  let out = '';
  for (let shift = 56n; shift >= 0n; shift -= 8n) out += String.fromCharCode(Number((id >> shift) & 0xffn));
  return out;
}

export function parseLeaseKey(key: ByteString): bigint {
  let id = 0n;
  for (let i = 0; i < key.length; i += 1) id = (id << 8n) | BigInt(key.charCodeAt(i));
  return BigInt.asIntN(64, id);
}

/** The stored record: f64 TTL seconds, f64 remaining TTL seconds. */
export function encodeLease(lease: Pick<Lease, 'ttlSeconds' | 'remainingTtlSeconds'>): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setFloat64(0, lease.ttlSeconds);
  view.setFloat64(8, lease.remainingTtlSeconds);
  return out;
}

export function decodeLease(bytes: Uint8Array): { ttlSeconds: number; remainingTtlSeconds: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { ttlSeconds: view.getFloat64(0), remainingTtlSeconds: view.getFloat64(8) };
}
