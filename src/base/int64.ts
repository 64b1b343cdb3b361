/**
 * 64-bit helpers. Wire ids (lease, member, cluster) are bigint everywhere; raft terms and
 * indexes and MVCC revisions are numbers inside, asserted to stay safe integers.
 */
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

/** Converts a safe-integer-valued bigint to number, throwing RangeError otherwise. */
export function toSafeNumber(value: bigint, what = 'value'): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${what} ${value} is outside the safe integer range`);
  }
  return Number(value);
}

/** Lower-case hexadecimal without padding, as etcd prints lease and member ids. */
export function toHex(value: bigint): string {
  return BigInt.asUintN(64, value).toString(16);
}

/** Parses hexadecimal (as printed by toHex or etcdctl) into an unsigned 64-bit bigint. */
export function fromHex(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new RangeError(`not a 64-bit hex id: ${JSON.stringify(text)}`);
  return BigInt(`0x${text}`);
}
