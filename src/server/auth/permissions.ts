/**
 * Key-range coverage for permission checks. A permission is a half-open byte interval:
 * a single key k is [k, k+"\0"), a range is [key, range_end), and range_end "\0" (etcd's
 * from-key) reaches past every key. A request is permitted when the union of the user's
 * intervals of the right kind covers its whole range (etcd's interval-tree Contains), and a
 * single-key request when one interval holds the key.
 */
import type { Permission } from '../../gen/authpb/auth_pb.js';
import { Permission_Type } from '../../gen/authpb/auth_pb.js';

/** `end` undefined: unbounded. */
export interface KeyInterval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | undefined;
}

export type Access = 'read' | 'write';

const ZERO = new Uint8Array([0]);

function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function isFromKey(end: Uint8Array): boolean {
  return end.length === 1 && end[0] === 0;
}

function pointEnd(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

export function permissionInterval(perm: Permission): KeyInterval {
  if (perm.rangeEnd.length === 0) return { start: perm.key, end: pointEnd(perm.key) };
  return { start: perm.key, end: isFromKey(perm.rangeEnd) ? undefined : perm.rangeEnd };
}

export function grants(perm: Permission, access: Access): boolean {
  if (perm.permType === Permission_Type.READWRITE) return true;
  return access === 'read' ? perm.permType === Permission_Type.READ : perm.permType === Permission_Type.WRITE;
}

/** Whether `intervals` hold `key` (rangeEnd empty) or cover all of [key, rangeEnd). */
export function covers(intervals: readonly KeyInterval[], key: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (rangeEnd.length === 0) {
    return intervals.some((i) => compare(i.start, key) <= 0 && (i.end === undefined || compare(key, i.end) < 0));
  }
  const end = isFromKey(rangeEnd) ? undefined : rangeEnd;
  // etcd treats an empty or inverted range as the single key.
  if (end !== undefined && compare(end, key) <= 0) return covers(intervals, key, new Uint8Array(0));
  const sorted = [...intervals].sort((a, b) => compare(a.start, b.start));
  let reached: Uint8Array = key;
  for (const interval of sorted) {
    if (compare(interval.start, reached) > 0) break;
    if (interval.end === undefined) return true;
    if (compare(interval.end, reached) > 0) reached = interval.end;
    if (end !== undefined && compare(reached, end) >= 0) return true;
  }
  return false;
}

export { ZERO as FROM_KEY_END };
