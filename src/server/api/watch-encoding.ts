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
import { WatchResponseSchema } from '../../gen/etcdserverpb/rpc_pb.js';
import type { WatchResponse } from '../../gen/etcdserverpb/rpc_pb.js';
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
