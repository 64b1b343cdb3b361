/**
 * A granted lease kept alive on the client's shared keep-alive stream. Its `signal` aborts
 * (with LeaseLostError) the moment the lease is known lost: the server answered TTL 0, or the
 * TTL passed on the local monotonic clock without a confirmed renewal, whichever comes first.
 * Work that must stop when the lease goes should take this signal.
 */
import { ConclaveError, InvalidOptionError, requireInteger, toHex } from '../base/index.js';
import { LeaseLostError } from '../client/index.js';
import type { CallOptions, Client, KeepAliveListener, KeepAliveRegistration } from '../client/index.js';
import { recordKeepAlive, recordSessionLoss } from '../telemetry/index.js';

export interface LeaseOptions extends CallOptions {
  /** Requested TTL; the server may raise it to its minimum (etcd: 2 s with default timing). */
  readonly ttlSeconds: number;
}

export class Lease implements AsyncDisposable {
  private readonly controller = new AbortController();
  private registration: KeepAliveRegistration | undefined;

  private constructor(
    readonly client: Client,
    /** The lease id (etcd prints it in hex: see `hexId`). */
    readonly id: bigint,
    /** The TTL the server granted. */
    readonly ttlSeconds: number,
  ) {}

  /** Grants a lease and starts keeping it alive. */
  static async grant(client: Client, options: LeaseOptions): Promise<Lease> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an options object with ttlSeconds is required');
    requireInteger('ttlSeconds', options.ttlSeconds, 1, 9_000_000_000);
    const grant = await client.leaseGrant(options.ttlSeconds, options);
    const lease = new Lease(client, grant.id, grant.ttlSeconds);
    try {
      lease.registration = client.keepAlive(grant, lease.listener());
    } catch (error) {
      await client.leaseRevoke(grant.id).catch(() => {});
      throw error;
    }
    return lease;
  }

  /**
   * Takes over an existing lease (granted by an earlier run of this process, or handed over
   * with `release()`): checks it still lives and keeps it alive from now on. Its keys, and with
   * them a lock or election place, are kept.
   */
  static async attach(client: Client, leaseId: bigint, options: CallOptions = {}): Promise<Lease> {
    if (typeof leaseId !== 'bigint' || leaseId <= 0n) throw new InvalidOptionError('leaseId', 'must be a positive bigint');
    const sentAtMs = client.clock.nowMs();
    const ttl = await client.leaseTimeToLive(leaseId, options);
    if (ttl.ttlSeconds <= 0) throw new LeaseLostError(leaseId, 'ERR_LEASE_EXPIRED', 'the server reports it expired or unknown');
    const lease = new Lease(client, leaseId, ttl.grantedTtlSeconds);
    // The lease is alive for `ttlSeconds` more from (at the latest) when we asked: start the
    // local deadline there, and renew on the granted TTL's schedule.
    const grant = { id: leaseId, ttlSeconds: ttl.grantedTtlSeconds, sentAtMs: sentAtMs - (ttl.grantedTtlSeconds - ttl.ttlSeconds) * 1000 };
    lease.registration = client.keepAlive(grant, lease.listener());
    return lease;
  }

  /** The id as etcd prints it (lower-case hex). */
  get hexId(): string {
    return toHex(this.id);
  }

  /** Aborts when the lease is lost, revoked or released. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the signal has aborted. */
  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** Local monotonic time (the client's clock) until which the lease is known alive. */
  get deadlineMs(): number {
    return this.lost ? 0 : this.registration?.deadlineMs ?? 0;
  }

  /** Throws the loss reason if the lease is gone. */
  throwIfLost(): void {
    if (this.lost) throw this.signal.reason;
  }

  /** Stops keep-alives and revokes the lease (deleting its keys). Idempotent. */
  async revoke(options: CallOptions = {}): Promise<void> {
    const wasLive = !this.lost;
    this.stopKeepAlive(new LeaseLostError(this.id, 'ERR_LEASE_REVOKED', 'revoked by its owner'));
    if (!wasLive) return;
    try {
      await this.client.leaseRevoke(this.id, options);
    } catch (error) {
      // Already gone on the server: that is what revoking wanted.
      if (!(ConclaveError.is(error) && error.code === 'ERR_ETCD_LEASE_NOT_FOUND')) throw error;
    }
  }

  /** Stops keep-alives without revoking: the lease expires by itself after its TTL. */
  release(): void {
    this.stopKeepAlive(new ConclaveError('ERR_LEASE_RELEASED', `lease ${this.hexId}: released by its owner; it expires on its own`));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.revoke();
  }

  /** Keep-alive callbacks: renewals and losses go to telemetry, a loss aborts the signal. */
  private listener(): KeepAliveListener {
    return {
      renewed: (_deadlineMs, latencyMs) => recordKeepAlive(this.id, latencyMs),
      lost: (error) => {
        if (!this.lost) recordSessionLoss(this.id, error.code);
        this.abort(error);
      },
    };
  }

  private stopKeepAlive(reason: unknown): void {
    this.registration?.stop();
    this.abort(reason);
  }

  private abort(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }
}
