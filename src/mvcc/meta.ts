import type { ByteString } from '../storage/backend/bytes.js';
import type { AppliedPosition } from './types.js';

/** Keys of the backend's `meta` bucket. */
export const META_APPLIED: ByteString = 'applied_index';
export const META_COMPACT: ByteString = 'finished_compact_rev';

/** Two f64s (safe integers): index and term, or compact revision and 0. */
export function encodeMeta(position: AppliedPosition): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setFloat64(0, position.index);
  view.setFloat64(8, position.term);
  return out;
}

export function decodeMeta(bytes: Uint8Array): AppliedPosition {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { index: view.getFloat64(0), term: view.getFloat64(8) };
}
