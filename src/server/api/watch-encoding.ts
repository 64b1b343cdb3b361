/**
 * Watch fan-out encoded once: a revision's events reach every watcher of their key as the
 * same mvcc event objects (or, for a watcher without prevKv, copies sharing the same kv), so
 * each event is converted to its protobuf message and serialized once, however many watchers
 * and streams carry it. A WatchResponse is then written as its own small fields (header,
 * watch id, flags: the only part that differs between watchers) followed by the cached bytes
 * of every event as field 11 (protobuf allows fields in any order; decoders merge them).
 */
import { toBinary } from '@bufbuild/protobuf';
import { EventSchema } from '../../gen/mvccpb/kv_pb.js';
import type { Event } from '../../gen/mvccpb/kv_pb.js';
import { ResponseHeaderSchema, WatchResponseSchema } from '../../gen/etcdserverpb/rpc_pb.js';
import type { ResponseHeader, WatchResponse } from '../../gen/etcdserverpb/rpc_pb.js';
import type { MvccEvent } from '../../mvcc/index.js';
import { eventToPb } from './convert.js';

interface Converted {
  plain?: Event;
  withPrevKv?: Event;
}

/** Per kv version (its object identity): the event message with and without prevKv. */
const converted = new WeakMap<object, Converted>();
/** Per event message: its serialized bytes. */
const encoded = new WeakMap<Event, Uint8Array>();

/** The protobuf event for `event`, built once per kv version and prevKv choice. */
export function sharedEventToPb(event: MvccEvent): Event {
  let entry = converted.get(event.kv);
  if (entry === undefined) {
    entry = {};
    converted.set(event.kv, entry);
  }
  if (event.prevKv === undefined) return (entry.plain ??= eventToPb(event));
  return (entry.withPrevKv ??= eventToPb(event));
}

/** Field 11 (events), wire type 2 (length-delimited). */
const EVENTS_TAG = (11 << 3) | 2;

function eventBytes(event: Event): Uint8Array {
  let bytes = encoded.get(event);
  if (bytes === undefined) {
    bytes = toBinary(EventSchema, event);
    encoded.set(event, bytes);
  }
  return bytes;
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length += 1;
  }
  return length;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** Serializes a WatchResponse, splicing in each event's cached bytes. */
export function encodeWatchResponse(response: WatchResponse): Uint8Array {
  if (response.events.length === 0) return toBinary(WatchResponseSchema, response);
  const head = toBinary(WatchResponseSchema, { ...response, events: [] });
  const parts = response.events.map(eventBytes);
  let size = head.length;
  for (const part of parts) size += 1 + varintLength(part.length) + part.length;
  const out = new Uint8Array(size);
  out.set(head, 0);
  let at = head.length;
  for (const part of parts) {
    out[at++] = EVENTS_TAG;
    at = writeVarint(out, at, part.length);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A batch of one watcher's events as WatchStream writes it (mvcc's merged response, with the wire ids). */
export interface EncodableWatchResponse {
  readonly header: ResponseHeader;
  readonly watchId: bigint;
  /** Each segment one revision's events, in order; a segment shared by watchers is encoded once. */
  readonly segments: readonly (readonly MvccEvent[])[];
  readonly canceled?: boolean;
  readonly compactRevision?: number;
  readonly fragment?: boolean;
}

/** Field tags of WatchResponse (field number << 3 | wire type). */
const HEADER_TAG = (1 << 3) | 2;
const WATCH_ID_TAG = (2 << 3) | 0;
const CANCELED_TAG = (4 << 3) | 0;
const COMPACT_REVISION_TAG = (5 << 3) | 0;
const FRAGMENT_TAG = (7 << 3) | 0;

/**
 * Serializes watch responses whose events arrays are shared between watchers: the events
 * part ("body": every event as field 11) is built once per array and cached by the array's
 * identity, and each watcher's response is its header, watch id and flags followed by that
 * body. protobuf-es writes fields in declaration order with events (11) last, so the result is
 * byte for byte what `toBinary(WatchResponseSchema, ...)` writes (watch-encoding.test.ts checks).
 */
export class WatchEncoder {
  /** Event bodies built (a cache miss): one per distinct shared events array. */
  bodiesEncoded = 0;
  private readonly bodies = new WeakMap<readonly MvccEvent[], Uint8Array>();
  private readonly headers = new WeakMap<ResponseHeader, Uint8Array>();

  encode(response: EncodableWatchResponse): Buffer {
    const header = this.headerBytes(response.header);
    const watchId = response.watchId === 0n ? undefined : int64Bytes(response.watchId);
    const compact = response.compactRevision === undefined || response.compactRevision === 0 ? undefined : int64Bytes(BigInt(response.compactRevision));
    const bodies = response.segments.map((segment) => this.body(segment));
    let size = 1 + varintLength(header.length) + header.length;
    if (watchId !== undefined) size += 1 + watchId.length;
    if (response.canceled === true) size += 2;
    if (compact !== undefined) size += 1 + compact.length;
    if (response.fragment === true) size += 2;
    for (const body of bodies) size += body.length;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    out[at++] = HEADER_TAG;
    at = writeVarint(out, at, header.length);
    out.set(header, at);
    at += header.length;
    if (watchId !== undefined) {
      out[at++] = WATCH_ID_TAG;
      out.set(watchId, at);
      at += watchId.length;
    }
    if (response.canceled === true) {
      out[at++] = CANCELED_TAG;
      out[at++] = 1;
    }
    if (compact !== undefined) {
      out[at++] = COMPACT_REVISION_TAG;
      out.set(compact, at);
      at += compact.length;
    }
    if (response.fragment === true) {
      out[at++] = FRAGMENT_TAG;
      out[at++] = 1;
    }
    for (const body of bodies) {
      out.set(body, at);
      at += body.length;
    }
    return out;
  }

  private headerBytes(header: ResponseHeader): Uint8Array {
    let bytes = this.headers.get(header);
    if (bytes === undefined) {
      bytes = toBinary(ResponseHeaderSchema, header);
      this.headers.set(header, bytes);
    }
    return bytes;
  }

  private body(segment: readonly MvccEvent[]): Uint8Array {
    let bytes = this.bodies.get(segment);
    if (bytes !== undefined) return bytes;
    this.bodiesEncoded += 1;
    const parts = segment.map((event) => eventBytes(sharedEventToPb(event)));
    let size = 0;
    for (const part of parts) size += 1 + varintLength(part.length) + part.length;
    bytes = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      bytes[at++] = EVENTS_TAG;
      at = writeVarint(bytes, at, part.length);
      bytes.set(part, at);
      at += part.length;
    }
    this.bodies.set(segment, bytes);
    return bytes;
  }
}

/** The encoder every WatchStream uses unless given its own (one cache for all streams of the process). */
export const sharedWatchEncoder = new WatchEncoder();

const SMALL_INT64_LIMIT = 1n << 48n;
/** Encoded forms of the first few thousand watch ids, shared by every response that carries one (never mutated). */
const smallInt64s: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(4096);

/** An int64 as protobuf writes it: a varint of its 64-bit two's complement (10 bytes when negative). */
function int64Bytes(value: bigint): Uint8Array {
  // Watch ids and revisions are small and non-negative: skip the bigint loop (cached per value).
  if (value >= 0n && value < SMALL_INT64_LIMIT) {
    const n = Number(value);
    let bytes = smallInt64s[n];
    if (bytes === undefined) {
      bytes = new Uint8Array(varintLength(n));
      writeVarint(bytes, 0, n);
      if (n < smallInt64s.length) smallInt64s[n] = bytes;
    }
    return bytes;
  }
  let rest = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Uint8Array.from(out);
}
