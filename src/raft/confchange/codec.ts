import { ConclaveError } from '../../base/errors.js';
import type { ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType } from '../types.js';

/**
 * The bytes of a confChange entry. Layout (big-endian):
 *   u8 version (1) | u8 transition | u32 change count | count x (u8 type | u64 node id)
 *   | u32 context length | context bytes
 * Fixed-width fields keep decoding trivial to validate: every length is checked against the
 * bytes actually present before anything is read.
 */
const VERSION = 1;
const transitions: readonly ConfChangeTransition[] = ['auto', 'joint-implicit', 'joint-explicit'];
const types: readonly ConfChangeType[] = ['addVoter', 'removeVoter', 'addLearner'];

/** At most this many single changes in one ConfChange (far beyond any real cluster). */
export const MAX_CONF_CHANGES = 1024;

export class ConfChangeDecodeError extends ConclaveError {
  constructor(problem: string) {
    super('ERR_RAFT_CONF_CHANGE_DECODE', `malformed conf change entry: ${problem}`);
    this.name = 'ConfChangeDecodeError';
  }
}

export function encodeConfChange(change: ConfChange): Uint8Array {
  if (change.changes.length > MAX_CONF_CHANGES) {
    throw new ConfChangeDecodeError(`${change.changes.length} changes exceed the limit of ${MAX_CONF_CHANGES}`);
  }
  const bytes = new Uint8Array(2 + 4 + change.changes.length * 9 + 4 + change.context.byteLength);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  view.setUint8(offset++, VERSION);
  view.setUint8(offset++, transitions.indexOf(change.transition));
  view.setUint32(offset, change.changes.length);
  offset += 4;
  for (const single of change.changes) {
    view.setUint8(offset++, types.indexOf(single.type));
    view.setBigUint64(offset, BigInt.asUintN(64, single.nodeId));
    offset += 8;
  }
  view.setUint32(offset, change.context.byteLength);
  offset += 4;
  bytes.set(change.context, offset);
  return bytes;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (offset: number, count: number): void => {
    if (offset + count > bytes.byteLength) throw new ConfChangeDecodeError(`truncated at byte ${offset}`);
  };
  need(0, 6);
  const version = view.getUint8(0);
  if (version !== VERSION) throw new ConfChangeDecodeError(`unknown version ${version}`);
  const transition = transitions[view.getUint8(1)];
  if (transition === undefined) throw new ConfChangeDecodeError(`unknown transition ${view.getUint8(1)}`);
  const count = view.getUint32(2);
  if (count > MAX_CONF_CHANGES) throw new ConfChangeDecodeError(`${count} changes exceed the limit of ${MAX_CONF_CHANGES}`);
  let offset = 6;
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < count; i++) {
    need(offset, 9);
    const type = types[view.getUint8(offset)];
    if (type === undefined) throw new ConfChangeDecodeError(`unknown change type ${view.getUint8(offset)}`);
    changes.push({ type, nodeId: view.getBigUint64(offset + 1) });
    offset += 9;
  }
  need(offset, 4);
  const contextBytes = view.getUint32(offset);
  offset += 4;
  need(offset, contextBytes);
  if (offset + contextBytes !== bytes.byteLength) throw new ConfChangeDecodeError('trailing bytes');
  return { transition, changes, context: bytes.slice(offset, offset + contextBytes) };
}

/** Whether applying `change` enters a joint configuration (rather than a simple change). */
export function entersJoint(change: ConfChange): boolean {
  return change.transition !== 'auto' || change.changes.length > 1;
}

/** Whether `change` is the empty change that leaves a joint configuration. */
export function leavesJoint(change: ConfChange): boolean {
  return change.changes.length === 0;
}
