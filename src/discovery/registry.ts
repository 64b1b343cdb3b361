/**
 * Keeps service instances registered under a lease while the process lives: registers, runs an
 * optional health check on an interval (marking the entry unhealthy, or removing it, while the
 * check fails), and after the lease is lost (partition, pause) re-registers under a new lease
 * with back-off. `deregister()` (or closing the client) removes the entry.
 */
import { ConclaveError, InvalidOptionError, requireInteger, sleep } from '../base/index.js';
import type { Client } from '../client/index.js';
import { Session } from '../lease/index.js';
import { waitForDelete } from '../lock/index.js';
import { encodeEntry } from './format.js';

export interface HealthCheck {
  /** Resolves true when healthy; a throw or false counts as unhealthy. */
  readonly check: (signal: AbortSignal) => Promise<boolean> | boolean;
  /** Default 5000. */
  readonly intervalMs?: number;
  /** 'mark' keeps the entry with `healthy: false` (default); 'remove' deletes it until healthy again. */
  readonly onUnhealthy?: 'mark' | 'remove';
}

export interface RegisterOptions {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly metadata?: Record<string, unknown>;
  /** Lease TTL for the entry. Default 10. */
  readonly ttlSeconds?: number;
  readonly healthCheck?: HealthCheck;
}

const namePattern = /^[^/\s]+$/;

export class ServiceRegistry {
  readonly prefix: string;

  constructor(readonly client: Client, options: { prefix?: string } = {}) {
    this.prefix = options.prefix ?? 'services/';
  }

  /** Registers an instance and keeps it registered; resolves once the first registration is written. */
  async register(options: RegisterOptions): Promise<Registration> {
    for (const field of ['service', 'id'] as const) {
      if (typeof options[field] !== 'string' || !namePattern.test(options[field])) throw new InvalidOptionError(field, 'must be a non-empty string without "/" or spaces');
    }
    if (typeof options.address !== 'string' || options.address.length === 0) throw new InvalidOptionError('address', 'must be a non-empty string');
    const ttlSeconds = requireInteger('ttlSeconds', options.ttlSeconds ?? 10, 1, 86_400);
    const intervalMs = requireInteger('healthCheck.intervalMs', options.healthCheck?.intervalMs ?? 5_000, 10);
    const registration = new Registration(this.client, `${this.prefix}${options.service}/${options.id}`, options, ttlSeconds, intervalMs);
    await registration.start();
    return registration;
  }
}

export class Registration implements AsyncDisposable {
  private readonly stopController = new AbortController();
  private session: Session | undefined;
  private isHealthy = true;
  private loop: Promise<void> | undefined;
  private readonly unregisterClose: () => void;
  /** How many times the entry was written under a new lease (1 after the first registration). */
  registrations = 0;
  /** Header revision of our last write of the entry. */
  private writtenAt = 0n;

  constructor(
    private readonly client: Client,
    /** `<prefix><service>/<id>`. */
    readonly key: string,
    private readonly options: RegisterOptions,
    private readonly ttlSeconds: number,
    private readonly intervalMs: number,
  ) {
    this.unregisterClose = client.onClose(() => this.deregister());
  }

  get healthy(): boolean {
    return this.isHealthy;
  }

  /** The lease the entry currently lives under. */
  get leaseId(): bigint | undefined {
    return this.session?.leaseId;
  }

  /** @internal first registration, then the keep-registered loop in the background. */
  async start(): Promise<void> {
    await this.registerOnce();
    this.loop = this.run();
  }

  /** Removes the entry and stops re-registering. Idempotent. */
  async deregister(): Promise<void> {
    if (this.stopController.signal.aborted) return this.loop;
    this.stopController.abort(new ConclaveError('ERR_DEREGISTERED', `${this.key} was deregistered`));
    this.unregisterClose();
    await this.loop;
    await this.session?.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.deregister();
  }

  private async registerOnce(): Promise<void> {
    // A lost session has nothing left to revoke; closing it drops its client close hook.
    void this.session?.close().catch(() => {});
    const session = await Session.create(this.client, { ttlSeconds: this.ttlSeconds, signal: this.stopController.signal });
    this.session = session;
    await this.write(session);
    this.registrations += 1;
  }

  /** Whether the entry should currently exist (not removed for failing its health check). */
  private get shouldExist(): boolean {
    return this.isHealthy || this.options.healthCheck?.onUnhealthy !== 'remove';
  }

  private async write(session: Session): Promise<void> {
    if (!this.shouldExist) {
      const deleted = await this.client.deleteOwnKey(this.key, { signal: session.signal });
      this.writtenAt = deleted.header.revision;
      return;
    }
    const value = encodeEntry(this.options.address, this.options.metadata ?? {}, this.isHealthy);
    const put = await this.client.put(this.key, value).lease(session.leaseId).signal(session.signal);
    this.writtenAt = put.header.revision;
  }

  /**
   * Puts the entry back when someone else deletes it while our lease lives (an operator, a
   * cleanup script). Our own deletions (health 'remove' mode) are recognised by shouldExist.
   */
  private async guardKey(session: Session, stop: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([stop, session.signal]);
    let from = this.writtenAt;
    while (!signal.aborted) {
      await waitForDelete(this.client, this.key, from, signal);
      const current = await this.client.get(this.key).signal(signal);
      from = current.header.revision;
      if (current.kvs.length === 0 && this.shouldExist && !signal.aborted) {
        await this.write(session);
        from = this.writtenAt;
      }
    }
  }

  private async run(): Promise<void> {
    const stop = this.stopController.signal;
    let backoffMs = 100;
    while (!stop.aborted) {
      try {
        const session = this.session;
        if (session === undefined || session.lost) {
          await this.registerOnce();
          backoffMs = 100;
        }
        const session2 = this.session!;
        const guard = this.guardKey(session2, stop).catch(() => {});
        await this.watchHealth(session2, stop);
        await guard;
      } catch {
        if (stop.aborted || this.client.signal.aborted) return;
        await sleep(this.client.clock, backoffMs, stop).catch(() => {});
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  /** Runs health checks until the session is lost or we are stopped. */
  private async watchHealth(session: Session, stop: AbortSignal): Promise<void> {
    const check = this.options.healthCheck;
    for (;;) {
      if (stop.aborted || session.lost) return;
      const waitSignal = AbortSignal.any([stop, session.signal]);
      await sleep(this.client.clock, check === undefined ? 3_600_000 : this.intervalMs, waitSignal).catch(() => {});
      if (stop.aborted || session.lost || check === undefined) continue;
      let healthy: boolean;
      try {
        healthy = (await check.check(waitSignal)) === true;
      } catch {
        healthy = false;
      }
      if (healthy !== this.isHealthy) {
        this.isHealthy = healthy;
        await this.write(session);
      }
    }
  }
}
