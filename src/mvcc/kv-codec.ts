import { assert } from '../base/assert.js';
import type { KeyValue } from './types.js';

/**
 * The stored form of a KeyValue in the backend's `key` bucket (our own layout, not etcd's
 * protobuf): u8 format (1) | u32 key length | key | f64 create | f64 mod | f64 version |
 * i64 lease | value (to the end). Revisions are safe integers, so f64 holds them exactly.
 */
const FORMAT = 1;
const FIXED_BYTES = 1 + 4 + 8 * 4;

export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const out = new Uint8Array(FIXED_BYTES + kv.key.length + kv.value.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, FORMAT);
  view.setUint32(1, kv.key.length);
  out.set(kv.key, 5);
  let at = 5 + kv.key.length;
  view.setFloat64(at, kv.createRevision);
  view.setFloat64(at + 8, kv.modRevision);
  view.setFloat64(at + 16, kv.version);
  view.setBigInt64(at + 24, kv.lease);
  at += 32;
  out.set(kv.value, at);
  return out;
}

export function decodeKeyValue(bytes: Uint8Array): KeyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(bytes.length >= FIXED_BYTES && view.getUint8(0) === FORMAT, 'malformed stored KeyValue');
  const keyLength = view.getUint32(1);
  const key = bytes.slice(5, 5 + keyLength);
  const at = 5 + keyLength;
  return {
    key,
    createRevision: view.getFloat64(at),
    modRevision: view.getFloat64(at + 8),
    version: view.getFloat64(at + 16),
    lease: view.getBigInt64(at + 24),
    value: bytes.slice(at + 32),
  };
}

/** Only what rebuilding the key index needs (key as a byte string, create revision, version), without copying the value. */
export function decodeIndexFields(bytes: Uint8Array): { key: string; createRevision: number; version: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(bytes.length >= FIXED_BYTES && view.getUint8(0) === FORMAT, 'malformed stored KeyValue');
  const keyLength = view.getUint32(1);
  const key = Buffer.from(bytes.buffer, bytes.byteOffset + 5, keyLength).toString('latin1');
  const at = 5 + keyLength;
  return { key, createRevision: view.getFloat64(at), version: view.getFloat64(at + 16) };
}
