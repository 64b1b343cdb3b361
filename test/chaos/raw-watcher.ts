/**
 * A watcher on the raw etcd v3 Watch stream (no SDK in between: the SDK drops replayed
 * revisions, which would hide a server that sends one twice). It records every event with the
 * response it came in and every progress notification, and on a broken stream reconnects to
 * the next endpoint and resumes from the revision after the last one delivered: the
 * server's resume is what is checked. `resumeSkew` plants a client bug for the bite tests.
 */
import { create } from '@bufbuild/protobuf';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream } from '@grpc/grpc-js';
import type { WatchRequest, WatchResponse } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { Watch, WatchCreateRequest_FilterType, WatchRequestSchema } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { Event_EventType } from '../../src/gen/mvccpb/kv_pb.js';
import { serviceDefinition } from '../../src/server/api/service-definition.js';
import type { ObservedEvent, WatchSpec } from './check/watches.js';

type WatchClient = Client & { watch(): ClientDuplexStream<WatchRequest, WatchResponse> };
const WatchClientConstructor = makeGenericClientConstructor(serviceDefinition(Watch), 'Watch') as unknown as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => WatchClient;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export interface RawWatcherRecord {
  readonly spec: WatchSpec;
  readonly events: ObservedEvent[];
  /** The response number each event came in (atomicity is checked per response). */
  readonly responses: number[];
  readonly progress: Array<{ revision: bigint; afterEvents: number }>;
  reconnects: number;
  /** Set when the server canceled the watch because its start revision was compacted. */
  compactRevision: bigint | undefined;
}

export class RawWatcher {
  readonly record: RawWatcherRecord;
  private client: WatchClient | undefined;
  private stream: ClientDuplexStream<WatchRequest, WatchResponse> | undefined;
  private endpointIndex: number;
  private responseCount = 0;
  private closed = false;
  private nextRevision: bigint;
  private readonly listeners = new Set<() => void>();

  /**
   * `progressOnResume`: ask for a progress notification right after each resume's create, while
   * the resumed watch is still catching up: the moment a server must hold the notification
   * back (etcd 3.4.23 does not: etcd-io/etcd#15220), made to happen on every reconnect rather
   * than whenever the periodic request happens to land in it.
   */
  constructor(private readonly endpoints: readonly string[], spec: WatchSpec, private readonly resumeSkew = 0n, private readonly progressOnResume = false) {
    this.record = { spec, events: [], responses: [], progress: [], reconnects: 0, compactRevision: undefined };
    this.endpointIndex = spec.id % endpoints.length;
    this.nextRevision = spec.startRevision;
    this.connect();
  }

  get lastRevision(): bigint {
    return this.record.events.at(-1)?.revision ?? this.nextRevision - 1n;
  }

  /** Breaks the stream (as a lost connection would); the watcher reconnects and resumes. */
  interrupt(): void {
    this.stream?.cancel();
  }

  requestProgress(): void {
    this.stream?.write(create(WatchRequestSchema, { requestUnion: { case: 'progressRequest', value: {} } }));
  }

  /** Resolves once an event at or past `revision` was delivered (or the watcher closed). */
  async waitFor(revision: bigint, signal: AbortSignal): Promise<boolean> {
    while (!this.closed && !signal.aborted && this.lastRevision < revision && this.record.compactRevision === undefined) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.listeners.delete(wake);
          resolve();
        };
        this.listeners.add(wake);
        setTimeout(wake, 200);
      });
    }
    return this.lastRevision >= revision;
  }

  private connect(): void {
    if (this.closed) return;
    const endpoint = this.endpoints[this.endpointIndex % this.endpoints.length]!;
    this.client?.close();
    const client = new WatchClientConstructor(endpoint, credentials.createInsecure());
    this.client = client;
    const stream = client.watch();
    this.stream = stream;
    const { spec } = this.record;
    const filters = [...(spec.noPut ? [WatchCreateRequest_FilterType.NOPUT] : []), ...(spec.noDelete ? [WatchCreateRequest_FilterType.NODELETE] : [])];
    stream.write(create(WatchRequestSchema, {
      requestUnion: {
        case: 'createRequest',
        value: { key: encoder.encode(spec.prefix), rangeEnd: prefixEnd(encoder.encode(spec.prefix)), startRevision: this.nextRevision, prevKv: spec.prevKv, filters, progressNotify: true },
      },
    }));
    if (this.progressOnResume && this.record.reconnects > 0) stream.write(create(WatchRequestSchema, { requestUnion: { case: 'progressRequest', value: {} } }));
    stream.on('data', (response: WatchResponse) => this.onResponse(response));
    let broken = false;
    const reconnect = (): void => {
      if (broken || this.closed || this.record.compactRevision !== undefined) return;
      broken = true;
      this.record.reconnects += 1;
      this.endpointIndex += 1;
      // The planted bug resumes from the wrong revision.
      this.nextRevision = this.lastRevision + 1n + this.resumeSkew;
      setTimeout(() => this.connect(), 100);
    };
    stream.on('error', reconnect);
    stream.on('end', reconnect);
  }

  private onResponse(response: WatchResponse): void {
    const index = this.responseCount++;
    if (response.compactRevision > 0n) {
      this.record.compactRevision = response.compactRevision;
      this.wakeAll();
      return;
    }
    if (response.created || response.canceled) return;
    if (response.events.length === 0) {
      // A progress notification: everything up to header.revision was delivered.
      const revision = response.header?.revision ?? 0n;
      this.record.progress.push({ revision, afterEvents: this.record.events.length });
      if (revision + 1n > this.nextRevision) this.nextRevision = revision + 1n;
      return;
    }
    for (const e of response.events) {
      const kv = e.kv!;
      this.record.events.push({
        revision: kv.modRevision,
        key: decoder.decode(kv.key),
        type: e.type === Event_EventType.DELETE ? 'delete' : 'put',
        value: e.type === Event_EventType.DELETE ? '' : decoder.decode(kv.value),
        prevValue: e.prevKv === undefined ? undefined : decoder.decode(e.prevKv.value),
      });
      this.record.responses.push(index);
    }
    this.nextRevision = this.lastRevision + 1n;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of [...this.listeners]) wake();
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
    this.client?.close();
    this.wakeAll();
  }
}

export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}
