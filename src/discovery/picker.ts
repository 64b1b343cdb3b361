/**
 * Client-side load balancing over a live instance set: round-robin, random, or sticky (keep
 * the same instance while it is listed and not set aside). `noteError(instance)` sets an
 * instance aside for `quarantineMs`; if every instance is set aside, the picker falls back to
 * all of them rather than answering nothing.
 */
import { InvalidOptionError, requireInteger, SeededRandom } from '../base/index.js';
import type { Random } from '../base/index.js';
import type { ServiceDiscovery } from './discovery.js';
import type { ServiceInstance } from './format.js';

export type PickStrategy = 'round-robin' | 'random' | 'sticky';

export interface PickerOptions {
  readonly strategy?: PickStrategy;
  /** How long `noteError` sets an instance aside. Default 30000. */
  readonly quarantineMs?: number;
  readonly random?: Random;
}

export class Picker implements AsyncDisposable {
  private instances: ServiceInstance[] = [];
  private readonly quarantinedUntil = new Map<string, number>();
  private next = 0;
  private sticky: string | undefined;
  private readonly stop = new AbortController();
  private readonly firstSet: Promise<void>;
  private readonly loop: Promise<void>;
  readonly strategy: PickStrategy;
  private readonly quarantineMs: number;
  private readonly random: Random;

  constructor(private readonly discovery: ServiceDiscovery, readonly service: string, options: PickerOptions = {}) {
    this.strategy = options.strategy ?? 'round-robin';
    if (!['round-robin', 'random', 'sticky'].includes(this.strategy)) throw new InvalidOptionError('strategy', 'must be round-robin, random or sticky');
    this.quarantineMs = requireInteger('quarantineMs', options.quarantineMs ?? 30_000, 0);
    this.random = options.random ?? new SeededRandom(Math.floor(Math.random() * 2 ** 32));
    let markReady!: () => void;
    this.firstSet = new Promise((resolve) => (markReady = resolve));
    this.loop = (async () => {
      try {
        for await (const set of discovery.watch(service, { signal: this.stop.signal })) {
          this.instances = set;
          markReady();
        }
      } catch {
        // Stopped (close) or the client closed: the last known set stays.
      } finally {
        markReady();
      }
    })();
  }

  /** Resolves once the first instance set has been read. */
  ready(): Promise<void> {
    return this.firstSet;
  }

  /** The current healthy instances (as last seen). */
  get current(): readonly ServiceInstance[] {
    return this.instances;
  }

  /** An instance to call, or undefined when none is registered. */
  pick(): ServiceInstance | undefined {
    const now = this.discovery.client.clock.nowMs();
    const available = this.instances.filter((i) => (this.quarantinedUntil.get(i.key) ?? 0) <= now);
    const pool = available.length > 0 ? available : this.instances;
    if (pool.length === 0) return undefined;
    switch (this.strategy) {
      case 'random':
        return pool[this.random.int(pool.length)];
      case 'sticky': {
        const kept = pool.find((i) => i.key === this.sticky);
        if (kept !== undefined) return kept;
        const chosen = pool[this.next++ % pool.length]!;
        this.sticky = chosen.key;
        return chosen;
      }
      default:
        return pool[this.next++ % pool.length];
    }
  }

  /** Sets `instance` aside for `quarantineMs` (it failed a call). */
  noteError(instance: ServiceInstance): void {
    this.quarantinedUntil.set(instance.key, this.discovery.client.clock.nowMs() + this.quarantineMs);
    if (this.sticky === instance.key) this.sticky = undefined;
    for (const [key, until] of this.quarantinedUntil) if (until <= this.discovery.client.clock.nowMs()) this.quarantinedUntil.delete(key);
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
