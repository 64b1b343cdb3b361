/**
 * The consumer side shared by Queue and PriorityQueue: blocking at-most-once `dequeue`, and
 * at-least-once `receive` / `consume` whose claims live under the consumer's session lease or
 * under a per-delivery lease whose TTL is the visibility timeout.
 */
import { InvalidOptionError, linkSignals, requireInteger } from '../base/index.js';
import type { Client, KeyValue } from '../client/index.js';
import type { Session } from '../lease/index.js';
import { Delivery } from './delivery.js';
import type { QueueLayout } from './layout.js';
import { claimFirst, takeAtMostOnce } from './take.js';

export interface ReceiveOptions {
  /**
   * Claims live under this session's lease: the item becomes visible again when the session
   * is lost (the consumer died) or the delivery is given back. Give this or `visibilityTimeoutMs`.
   */
  readonly session?: Session;
  /**
   * Each delivery gets its own lease of ceil(ms / 1000) seconds, never renewed: if not
   * acknowledged in time the item is delivered again (the server may round the TTL up to its
   * minimum, etcd: 2 s).
   */
  readonly visibilityTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export class QueueConsumer {
  constructor(readonly client: Client, protected readonly layout: QueueLayout) {}

  /** Removes and returns the first item, waiting until there is one (at most once: etcd's semantics). */
  async dequeue(options: { signal?: AbortSignal } = {}): Promise<string> {
    const linked = linkSignals(options.signal, this.client.signal);
    try {
      return (await takeAtMostOnce(this.client, this.layout, linked.signal, true))!.value;
    } finally {
      linked.dispose();
    }
  }

  /** Removes and returns the first item, or undefined when the queue is empty. */
  async tryDequeue(options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    const linked = linkSignals(options.signal, this.client.signal);
    try {
      return (await takeAtMostOnce(this.client, this.layout, linked.signal, false))?.value;
    } finally {
      linked.dispose();
    }
  }

  /** Claims the first unclaimed item, waiting until there is one (at least once). */
  async receive(options: ReceiveOptions): Promise<Delivery> {
    return (await this.claim(options, true))!;
  }

  /** Claims the first unclaimed item, or resolves undefined when there is none. */
  tryReceive(options: ReceiveOptions): Promise<Delivery | undefined> {
    return this.claim(options, false);
  }

  /** Deliveries one after another until `signal` aborts (at least once). Settle each. */
  async *consume(options: ReceiveOptions): AsyncGenerator<Delivery> {
    for (;;) yield await this.receive(options);
  }

  /** Items in the queue, claimed or not. */
  async size(options: { signal?: AbortSignal } = {}): Promise<number> {
    const builder = this.client.get(this.layout.itemPrefix).prefix().countOnly();
    return Number((await (options.signal === undefined ? builder : builder.signal(options.signal))).count);
  }

  private async claim(options: ReceiveOptions, wait: boolean): Promise<Delivery | undefined> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'give { session } or { visibilityTimeoutMs }');
    if ((options.session === undefined) === (options.visibilityTimeoutMs === undefined)) {
      throw new InvalidOptionError('options', 'give exactly one of session and visibilityTimeoutMs');
    }
    const visibility = options.visibilityTimeoutMs === undefined ? undefined : requireInteger('visibilityTimeoutMs', options.visibilityTimeoutMs, 1, 86_400_000);
    const session = options.session;
    const linked = linkSignals(options.signal, this.client.signal, session?.signal);
    const lease = visibility === undefined ? undefined : new VisibilityLease(this.client, Math.ceil(visibility / 1000));
    try {
      const claimed = await claimFirst(this.client, this.layout, () => (lease === undefined ? Promise.resolve(session!.leaseId) : lease.id()), linked.signal, wait);
      if (claimed === undefined) {
        lease?.revoke();
        return undefined;
      }
      return this.deliver(claimed.kv, claimed.claimKey, claimed.claimRevision, session, lease);
    } catch (error) {
      lease?.revoke();
      throw error;
    } finally {
      linked.dispose();
    }
  }

  private deliver(kv: KeyValue, claimKey: string, claimRevision: bigint, session: Session | undefined, lease: VisibilityLease | undefined): Delivery {
    const lost = lease === undefined ? session!.signal : lease.expiry();
    return new Delivery({
      client: this.client, key: kv.key, value: kv.value, claimKey, claimRevision, createRevision: kv.createRevision, lost,
      ...(lease === undefined ? {} : { onSettled: () => lease.revoke() }),
    });
  }
}

/** A lease granted on first use, whose local deadline is the visibility deadline. */
class VisibilityLease {
  private granted: Promise<{ id: bigint; sentAtMs: number }> | undefined;

  constructor(private readonly client: Client, private readonly ttlSeconds: number) {}

  async id(): Promise<bigint> {
    this.granted ??= this.client.leaseGrant(this.ttlSeconds).then((grant) => ({ id: grant.id, sentAtMs: grant.sentAtMs }));
    return (await this.granted).id;
  }

  /** Aborts at the deadline counted from when the grant was sent (the lease cannot live longer). */
  expiry(): AbortSignal {
    const controller = new AbortController();
    void this.granted?.then((grant) => {
      const remaining = grant.sentAtMs + this.ttlSeconds * 1000 - this.client.clock.nowMs();
      this.client.clock.setTimer(Math.max(0, remaining), () => controller.abort(new Error('the visibility timeout passed')));
    });
    return controller.signal;
  }

  revoke(): void {
    void this.granted?.then((grant) => this.client.leaseRevoke(grant.id)).catch(() => {});
  }
}
