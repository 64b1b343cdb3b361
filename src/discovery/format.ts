/**
 * Registry entries in the JSON format of etcd's Go `naming/endpoints` package, so Go clients and
 * gRPC resolvers (`etcd:///<prefix><service>`) read them: key `<prefix><service>/<id>`, value
 * `{"Op":0,"Addr":"host:port","Metadata":{...}}`. Our health flag rides in an extra top-level
 * field that Go ignores.
 */
export interface ServiceInstance {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly metadata: Record<string, unknown>;
  /** False when the instance's own health check failed (it stays listed, marked). */
  readonly healthy: boolean;
  readonly key: string;
  /** Revision of the entry's last change. */
  readonly modRevision: bigint;
}

interface WireEntry {
  Op?: number;
  Addr?: string;
  Metadata?: unknown;
  Healthy?: boolean;
}

export function encodeEntry(address: string, metadata: Record<string, unknown>, healthy: boolean): string {
  return JSON.stringify({ Op: 0, Addr: address, Metadata: metadata, Healthy: healthy });
}

/** Parses an entry; undefined for values that are not registry entries. */
export function decodeEntry(service: string, key: string, id: string, value: string, modRevision: bigint): ServiceInstance | undefined {
  let parsed: WireEntry;
  try {
    parsed = JSON.parse(value) as WireEntry;
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.Addr !== 'string') return undefined;
  const metadata = typeof parsed.Metadata === 'object' && parsed.Metadata !== null ? (parsed.Metadata as Record<string, unknown>) : {};
  return { service, id, address: parsed.Addr, metadata, healthy: parsed.Healthy !== false, key, modRevision };
}
