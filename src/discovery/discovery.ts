/**
 * Reading the registry: `list(service)`, `watch(service)` as an async iterable of instance
 * sets (the current set first, then one set per change; a compaction while disconnected
 * re-lists), and pickers over a live cache.
 */
import { WatchCompactedError } from '../client/index.js';
import type { Client, KeyValue } from '../client/index.js';
import { decodeEntry } from './format.js';
import type { ServiceInstance } from './format.js';

export interface ListOptions {
  /** Leave out instances marked unhealthy. Default true. */
  readonly healthyOnly?: boolean;
  readonly signal?: AbortSignal;
}

export class ServiceDiscovery {
  readonly prefix: string;

  constructor(readonly client: Client, options: { prefix?: string } = {}) {
    this.prefix = options.prefix ?? 'services/';
  }

  async list(service: string, options: ListOptions = {}): Promise<ServiceInstance[]> {
    const { instances } = await this.read(service, options.signal);
    return filter([...instances.values()], options.healthyOnly ?? true);
  }

  /** The instance set now and after every change, until `signal` aborts. */
  async *watch(service: string, options: ListOptions = {}): AsyncGenerator<ServiceInstance[]> {
    const healthyOnly = options.healthyOnly ?? true;
    for (;;) {
      const { instances, revision } = await this.read(service, options.signal);
      yield filter([...instances.values()], healthyOnly);
      const watcher = this.client.watch(this.servicePrefix(service), { prefix: true, startRevision: revision + 1n, ...(options.signal ? { signal: options.signal } : {}) });
      try {
        for (;;) {
          const batch = await watcher.nextBatch();
          if (batch === undefined) return;
          for (const event of batch) {
            if (event.type === 'delete') instances.delete(event.kv.key);
            else {
              const instance = this.decode(service, event.kv);
              if (instance === undefined) instances.delete(event.kv.key);
              else instances.set(event.kv.key, instance);
            }
          }
          yield filter([...instances.values()], healthyOnly);
        }
      } catch (error) {
        if (!(error instanceof WatchCompactedError)) throw error;
        // History we needed is gone: start over from a fresh list.
      } finally {
        watcher.close();
      }
    }
  }

  private servicePrefix(service: string): string {
    return `${this.prefix}${service}/`;
  }

  private decode(service: string, kv: KeyValue): ServiceInstance | undefined {
    const id = kv.key.slice(this.servicePrefix(service).length);
    return decodeEntry(service, kv.key, id, kv.value, kv.modRevision);
  }

  private async read(service: string, signal: AbortSignal | undefined): Promise<{ instances: Map<string, ServiceInstance>; revision: bigint }> {
    const builder = this.client.get(this.servicePrefix(service)).prefix();
    const result = await (signal === undefined ? builder : builder.signal(signal));
    const instances = new Map<string, ServiceInstance>();
    for (const kv of result.kvs) {
      const instance = this.decode(service, kv);
      if (instance !== undefined) instances.set(kv.key, instance);
    }
    return { instances, revision: result.header.revision };
  }
}

function filter(instances: ServiceInstance[], healthyOnly: boolean): ServiceInstance[] {
  return instances.filter((i) => !healthyOnly || i.healthy).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
