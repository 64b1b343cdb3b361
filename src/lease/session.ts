/**
 * A Session is the unit of liveness for the coordination primitives: one lease, kept alive
 * while the process runs, whose loss aborts `session.signal` and with it every lock, election
 * and registration held through the session. Closing the session (or the client) revokes the
 * lease, which releases everything at once on the server.
 */
import { InvalidOptionError, requireInteger } from '../base/index.js';
import type { CallOptions, Client } from '../client/index.js';
import { Lease } from './lease.js';

export interface SessionOptions extends CallOptions {
  /** Lease TTL. Default 60 (as etcd's Go client); `etcdctl lock` uses 10. */
  readonly ttlSeconds?: number;
  /** Resume this existing lease instead of granting a new one (its TTL is kept). */
  readonly leaseId?: bigint;
}

export class Session implements AsyncDisposable {
  private closing: Promise<void> | undefined;
  private readonly unregisterClose: () => void;

  private constructor(readonly client: Client, readonly lease: Lease) {
    this.unregisterClose = client.onClose(() => this.close());
  }

  static async create(client: Client, options: SessionOptions = {}): Promise<Session> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object');
    const ttlSeconds = requireInteger('ttlSeconds', options.ttlSeconds ?? 60, 1, 9_000_000_000);
    const lease = options.leaseId === undefined ? await Lease.grant(client, { ...options, ttlSeconds }) : await Lease.attach(client, options.leaseId, options);
    return new Session(client, lease);
  }

  get leaseId(): bigint {
    return this.lease.id;
  }

  get ttlSeconds(): number {
    return this.lease.ttlSeconds;
  }

  /** Aborts when the session's lease is lost or the session is closed. */
  get signal(): AbortSignal {
    return this.lease.signal;
  }

  get lost(): boolean {
    return this.lease.lost;
  }

  /** Throws the loss reason if the session is over. */
  throwIfLost(): void {
    this.lease.throwIfLost();
  }

  /** Revokes the lease: every key the session holds is deleted. Idempotent. */
  close(options: CallOptions = {}): Promise<void> {
    this.closing ??= (async () => {
      this.unregisterClose();
      await this.lease.revoke(options);
    })();
    return this.closing;
  }

  /** Stops keep-alives without revoking; the session's keys go when the lease expires. */
  orphan(): void {
    this.unregisterClose();
    this.lease.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
