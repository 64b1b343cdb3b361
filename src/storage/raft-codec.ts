import type { ConfState, Entry, EntryType, HardState, NodeId, SnapshotMetadata } from '../raft/types.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { CodecError } from './errors.js';

/**
 * The binary encoding of Raft's persistent values, shared by the WAL, the snapshot files and
 * (later) the server's peer transport. Fixed-width little-endian fields; every decoder checks
 * lengths against the bytes it was given before allocating, rejects unknown tags, and rejects
 * trailing bytes, so a damaged record fails loudly instead of decoding into something else.
 *
 * Layouts (u64 = 8 bytes LE, ids are unsigned 64-bit):
 *   Entry:            u64 term, u64 index, u8 type (1 normal, 2 confChange), u32 dataBytes, data
 *   HardState:        u64 term, u64 vote, u64 commit
 *   ConfState:        4 lists (voters, learners, votersOutgoing, learnersNext), each u32 count
 *                     then count u64 ids; u8 autoLeave (0 or 1)
 *   SnapshotMetadata: u64 index, u64 term, ConfState
 */

const ENTRY_TYPE_TAG: Record<EntryType, number> = { normal: 1, confChange: 2 };

export function encodeEntry(entry: Entry): Uint8Array {
  return writeEntry(new ByteWriter(25 + entry.data.length), entry).finish();
}

export function writeEntry(writer: ByteWriter, entry: Entry): ByteWriter {
  return writer.u64(entry.term).u64(entry.index).u8(ENTRY_TYPE_TAG[entry.type]).bytes(entry.data);
}

export function decodeEntry(bytes: Uint8Array): Entry {
  const reader = new ByteReader(bytes, 'raft entry');
  const entry = readEntry(reader);
  reader.end();
  return entry;
}

export function readEntry(reader: ByteReader): Entry {
  const term = reader.u64();
  const index = reader.u64();
  const tag = reader.u8();
  let type: EntryType;
  if (tag === 1) type = 'normal';
  else if (tag === 2) type = 'confChange';
  else throw new CodecError('raft entry', `unknown entry type tag ${tag}`);
  const data = reader.bytes();
  return { term, index, type, data };
}

export function encodeHardState(state: HardState): Uint8Array {
  return new ByteWriter(24).u64(state.term).id64(state.vote).u64(state.commit).finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const reader = new ByteReader(bytes, 'raft hard state');
  const state: HardState = { term: reader.u64(), vote: reader.id64(), commit: reader.u64() };
  reader.end();
  return state;
}

export function writeConfState(writer: ByteWriter, state: ConfState): ByteWriter {
  for (const list of [state.voters, state.learners, state.votersOutgoing, state.learnersNext]) {
    writer.u32(list.length);
    for (const id of list) writer.id64(id);
  }
  return writer.u8(state.autoLeave ? 1 : 0);
}

export function readConfState(reader: ByteReader): ConfState {
  const lists: NodeId[][] = [];
  for (let i = 0; i < 4; i++) {
    const count = reader.u32();
    if (count * 8 > reader.remaining()) throw new CodecError('raft conf state', `list of ${count} ids is longer than the record`);
    const ids: NodeId[] = [];
    for (let j = 0; j < count; j++) ids.push(reader.id64());
    lists.push(ids);
  }
  const autoLeave = reader.u8();
  if (autoLeave > 1) throw new CodecError('raft conf state', `autoLeave flag is ${autoLeave}`);
  const [voters, learners, votersOutgoing, learnersNext] = lists as [NodeId[], NodeId[], NodeId[], NodeId[]];
  return { voters, learners, votersOutgoing, learnersNext, autoLeave: autoLeave === 1 };
}

export function encodeConfState(state: ConfState): Uint8Array {
  return writeConfState(new ByteWriter(), state).finish();
}

export function decodeConfState(bytes: Uint8Array): ConfState {
  const reader = new ByteReader(bytes, 'raft conf state');
  const state = readConfState(reader);
  reader.end();
  return state;
}

export function writeSnapshotMetadata(writer: ByteWriter, metadata: SnapshotMetadata): ByteWriter {
  return writeConfState(writer.u64(metadata.index).u64(metadata.term), metadata.confState);
}

export function readSnapshotMetadata(reader: ByteReader): SnapshotMetadata {
  const index = reader.u64();
  const term = reader.u64();
  return { index, term, confState: readConfState(reader) };
}

export function encodeSnapshotMetadata(metadata: SnapshotMetadata): Uint8Array {
  return writeSnapshotMetadata(new ByteWriter(), metadata).finish();
}

export function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata {
  const reader = new ByteReader(bytes, 'raft snapshot metadata');
  const metadata = readSnapshotMetadata(reader);
  reader.end();
  return metadata;
}
