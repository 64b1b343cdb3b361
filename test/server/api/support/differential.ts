/**
 * Differential testing against real etcd: a script (a sequence of requests, watch-stream
 * actions and expectations of responses) runs against two servers speaking the etcd v3 wire
 * protocol, each from a fresh start, and records a transcript of labelled, normalised
 * responses and errors. The transcripts are then compared entry by entry. Normalisation
 * keeps revisions, values, versions, flags, counts, event order, error codes and messages,
 * and drops what legitimately differs: cluster and member ids, raft terms, and lease ids
 * (replaced by `lease#n` in order of first appearance, per server, so equal structure still
 * compares equal). Remaining-TTL fields are dropped where a script asks (they are timings).
 *
 * The member's own tests reuse this with their targets: anything with a client endpoint.
 */
import { toJson } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { Watch } from '../../../../src/gen/etcdserverpb/rpc_pb.js';
import type { WatchRequest, WatchResponse } from '../../../../src/gen/etcdserverpb/rpc_pb.js';
import { WatchResponseSchema } from '../../../../src/gen/etcdserverpb/rpc_pb.js';
import { toHex } from '../../../../src/base/int64.js';
import type { DuplexCall} from './raw-client.js';
import { RawClient, type RpcResult } from './raw-client.js';

export interface DifferentialTarget {
  readonly name: string;
  /** `host:port` of a client endpoint. */
  readonly endpoint: string;
}

export type TranscriptEntry = readonly [label: string, value: unknown];

type Method = DescMethod & { input: DescMessage; output: DescMessage };

export interface CallOptions {
  /** Top-level response fields to drop (timings such as a remaining TTL). */
  readonly ignore?: readonly string[];
  /** Top-level array fields whose order is unspecified (etcd's TimeToLive keys come from a Go map). */
  readonly unordered?: readonly string[];
}

/** Maps server-chosen lease ids to stable names, per server. */
export class IdNames {
  private readonly names = new Map<string, string>();

  name(id: bigint | string): string {
    const key = BigInt(id).toString();
    if (key === '0') return '0';
    let name = this.names.get(key);
    if (name === undefined) {
      name = `lease#${this.names.size + 1}`;
      this.names.set(key, name);
    }
    return name;
  }

  /** Rewrites lower-case hex ids of known leases inside a key (recipe keys end in one). */
  rewriteKey(key: string): string {
    for (const [decimal, name] of this.names) key = key.replaceAll(toHex(BigInt(decimal)), name);
    return key;
  }
}

const DROPPED_HEADER_FIELDS = ['cluster_id', 'member_id', 'raft_term'];
const ID_FIELDS = new Set(['ID', 'lease']);

/** JSON of a response with ids normalised and the header's per-member fields dropped. */
export function normalize(schema: DescMessage, message: unknown, ids: IdNames, ignore: readonly string[] = []): unknown {
  const json = toJson(schema, message as MessageShape<DescMessage>, { useProtoFieldName: true }) as Record<string, unknown>;
  for (const field of ignore) delete json[field];
  learnIds(json, ids); // first, so keys naming a lease seen in the same response are rewritten too
  return scrub(json, ids);
}

function learnIds(value: unknown, ids: IdNames): void {
  if (Array.isArray(value)) for (const v of value) learnIds(v, ids);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (ID_FIELDS.has(key) && (typeof inner === 'string' || typeof inner === 'number')) ids.name(String(inner));
      else learnIds(inner, ids);
    }
  }
}

function scrub(value: unknown, ids: IdNames): unknown {
  if (Array.isArray(value)) return value.map((v) => scrub(v, ids));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'header' && typeof inner === 'object' && inner !== null) {
      const header = { ...(inner as Record<string, unknown>) };
      for (const field of DROPPED_HEADER_FIELDS) delete header[field];
      out[key] = header;
    } else if (ID_FIELDS.has(key) && (typeof inner === 'string' || typeof inner === 'number')) {
      out[key] = ids.name(String(inner));
    } else if (key === 'key' && typeof inner === 'string') {
      out[key] = ids.rewriteKey(Buffer.from(inner, 'base64').toString('latin1'));
    } else out[key] = scrub(inner, ids);
  }
  return out;
}

function sortFields(json: unknown, fields: readonly string[] = []): unknown {
  const record = json as Record<string, unknown>;
  for (const field of fields) {
    const value = record[field];
    if (Array.isArray(value)) record[field] = [...value].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
  }
  return json;
}

/** What a script sees: calls that record their normalised results, and per-server variables. */
export class ScriptContext {
  readonly transcript: TranscriptEntry[] = [];
  readonly ids = new IdNames();
  /** Values a script keeps between steps (e.g. the lease id this server granted). */
  readonly vars = new Map<string, bigint>();
  private readonly streams: WatchSession[] = [];

  constructor(readonly client: RawClient) {}

  /** Sends a unary request and records the normalised response or error under `label`. */
  async call<M extends Method>(label: string, method: M, request: MessageInitShape<M['input']>, options: CallOptions = {}): Promise<RpcResult<MessageShape<M['output']>>> {
    const result = await this.client.unary(method, request);
    this.record(label, 'ok' in result ? sortFields(normalize(method.output, result.ok, this.ids, options.ignore), options.unordered) : { error: result.error });
    return result;
  }

  record(label: string, value: unknown): void {
    this.transcript.push([label, value]);
  }

  /** A lease id kept with `vars.set`, or a failure naming the missing variable. */
  lease(name: string): bigint {
    const id = this.vars.get(name);
    if (id === undefined) throw new Error(`script variable ${name} not set`);
    return id;
  }

  watch(label: string): WatchSession {
    const session = new WatchSession(this, label, this.client.duplex(Watch.method.watch));
    this.streams.push(session);
    return session;
  }

  close(): void {
    for (const stream of this.streams) stream.close();
  }
}

export class WatchSession {
  constructor(private readonly context: ScriptContext, private readonly label: string, private readonly call: DuplexCall<MessageInitShape<typeof Watch.method.watch.input>, WatchResponse>) {}

  send(request: MessageInitShape<typeof Watch.method.watch.input>): void {
    this.call.send(request);
  }

  create(create: Extract<WatchRequest['requestUnion'], { case: 'createRequest' }>['value'] | Record<string, unknown>): void {
    this.send({ requestUnion: { case: 'createRequest', value: create as never } });
  }

  cancel(watchId: bigint): void {
    this.send({ requestUnion: { case: 'cancelRequest', value: { watchId } } });
  }

  progress(): void {
    this.send({ requestUnion: { case: 'progressRequest', value: {} } });
  }

  /** Records the next `count` responses as they are. */
  async take(step: string, count = 1): Promise<WatchResponse[]> {
    const responses: WatchResponse[] = [];
    for (let i = 0; i < count; i += 1) responses.push(await this.call.next());
    this.context.record(`${this.label}: ${step}`, responses.map((r) => normalize(WatchResponseSchema, r, this.context.ids)));
    return responses;
  }

  /**
   * Records the next `count` events, flattened (how they are batched into responses may
   * legitimately differ while a watcher catches up), with each response's watch id, grouped
   * by watcher.
   */
  async events(step: string, count: number): Promise<void> {
    const events: unknown[] = [];
    while (events.length < count) {
      const response = await this.call.next();
      const json = normalize(WatchResponseSchema, response, this.context.ids) as { events?: unknown[]; watch_id?: string };
      for (const event of json.events ?? []) events.push({ watch_id: json.watch_id ?? '0', event });
    }
    // Order between different watchers of one stream is not part of the protocol (etcd's
    // own varies); order per watcher is. Sort stably by watch id.
    const byWatcher = events.map((e, i) => [e, i] as const).sort(([a, i], [b2, j]) => {
      const x = BigInt((a as { watch_id: string }).watch_id);
      const y = BigInt((b2 as { watch_id: string }).watch_id);
      return x < y ? -1 : x > y ? 1 : i - j;
    });
    this.context.record(`${this.label}: ${step}`, byWatcher.map(([e]) => e));
  }

  /** Records whether any response is waiting now (after the caller made sure both sides had time to send). */
  recordNothingPending(step: string): void {
    this.context.record(`${this.label}: ${step}`, { pending: this.call.pending() });
  }

  close(): void {
    this.call.close();
  }
}

export type Script = (context: ScriptContext) => Promise<void>;

/** Runs `script` against `target` and returns its transcript. */
export async function runScript(target: DifferentialTarget, script: Script): Promise<TranscriptEntry[]> {
  const client = new RawClient(target.endpoint);
  const context = new ScriptContext(client);
  try {
    await script(context);
    return context.transcript;
  } catch (error) {
    throw new Error(`script failed on ${target.name} after ${context.transcript.length} steps: ${String(error)}`, { cause: error });
  } finally {
    context.close();
    client.close();
  }
}
