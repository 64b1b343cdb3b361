/**
 * Spans and metrics through @opentelemetry/api, the standard way for a library: without an
 * SDK installed by the application every call is a no-op. Names (stable; units in the name's
 * unit field):
 *
 *   conclave.lock.wait.duration      histogram ms  {conclave.lock.kind, conclave.outcome}
 *   conclave.lock.hold.duration      histogram ms  {conclave.lock.kind, conclave.end}
 *   conclave.lock.contention         histogram     waiters ahead at arrival {conclave.lock.kind}
 *   conclave.lock.losses             counter       {conclave.lock.kind, conclave.cause}
 *   conclave.lock.delays             counter       lock-delay grants held back {conclave.cause}
 *   conclave.election.leadership.changes counter   {conclave.election.name}
 *   conclave.election.tenure.duration    histogram ms {conclave.end}
 *   conclave.session.keepalive.latency   histogram ms
 *   conclave.session.losses          counter       {conclave.cause: error code}
 *   conclave.watch.reconnects        counter
 *
 * Spans: `conclave.lock.acquire` (lock() call to grant or failure) and `conclave.lock.hold`
 * (grant to release or loss; status ERROR on loss), attributes `conclave.lock.name`,
 * `conclave.lock.kind`, `conclave.lock.key`, `conclave.lock.token`. Lock names are attributes
 * of spans only, not of metrics (unbounded cardinality), except the election name on
 * leadership changes.
 *
 * Instruments are looked up against the current global meter, so an SDK installed after this
 * module loaded is picked up.
 */
import { metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Counter, Histogram, Meter, Span } from '@opentelemetry/api';
import { emit } from './events.js';
import type { ConclaveEvent, LockKind, LossCause } from './events.js';

const scope = 'conclave';

interface Instruments {
  readonly meter: Meter;
  readonly waitMs: Histogram;
  readonly holdMs: Histogram;
  readonly contention: Histogram;
  readonly losses: Counter;
  readonly delays: Counter;
  readonly leadershipChanges: Counter;
  readonly tenureMs: Histogram;
  readonly keepAliveMs: Histogram;
  readonly sessionLosses: Counter;
  readonly watchReconnects: Counter;
}

let cached: Instruments | undefined;

function instruments(): Instruments {
  const meter = metrics.getMeter(scope);
  if (cached?.meter === meter) return cached;
  cached = {
    meter,
    waitMs: meter.createHistogram('conclave.lock.wait.duration', { unit: 'ms', description: 'Time from lock() to grant or failure' }),
    holdMs: meter.createHistogram('conclave.lock.hold.duration', { unit: 'ms', description: 'Time a lock was held' }),
    contention: meter.createHistogram('conclave.lock.contention', { description: 'Holders and waiters ahead of a contender when it queued' }),
    losses: meter.createCounter('conclave.lock.losses', { description: 'Held locks lost, by cause' }),
    delays: meter.createCounter('conclave.lock.delays', { description: 'Grants held back by lock-delay' }),
    leadershipChanges: meter.createCounter('conclave.election.leadership.changes', { description: 'Leaderships won' }),
    tenureMs: meter.createHistogram('conclave.election.tenure.duration', { unit: 'ms', description: 'Time a leadership lasted' }),
    keepAliveMs: meter.createHistogram('conclave.session.keepalive.latency', { unit: 'ms', description: 'Lease keep-alive round trip' }),
    sessionLosses: meter.createCounter('conclave.session.losses', { description: 'Sessions (leases) lost, by cause' }),
    watchReconnects: meter.createCounter('conclave.watch.reconnects', { description: 'Watch stream reconnects' }),
  };
  return cached;
}

function tracer(): ReturnType<typeof trace.getTracer> {
  return trace.getTracer(scope);
}

function report(event: ConclaveEvent): void {
  emit(event);
}

/** One lock() call, from its start to its grant or failure; then the hold. */
export class LockCycle {
  private readonly startedAtMs: number;
  private readonly acquireSpan: Span;
  private holdSpan: Span | undefined;
  private grantedAtMs = 0;
  private key = '';
  private ended = false;

  constructor(private readonly kind: LockKind, private readonly name: string, private readonly nowMs: () => number) {
    this.startedAtMs = nowMs();
    this.acquireSpan = tracer().startSpan('conclave.lock.acquire', { attributes: { 'conclave.lock.name': name, 'conclave.lock.kind': kind } });
  }

  /** Holders and waiters that were ahead when we queued (0 for an uncontended grant). */
  contention(waitersAhead: number): void {
    this.acquireSpan.setAttribute('conclave.lock.waiters_ahead', waitersAhead);
    instruments().contention.record(waitersAhead, { 'conclave.lock.kind': this.kind });
    report({ type: 'lock.contention', kind: this.kind, name: this.name, waitersAhead });
  }

  granted(key: string, token: bigint): void {
    this.grantedAtMs = this.nowMs();
    this.key = key;
    const waitMs = this.grantedAtMs - this.startedAtMs;
    const attributes: Attributes = { 'conclave.lock.kind': this.kind, 'conclave.outcome': 'acquired' };
    instruments().waitMs.record(waitMs, attributes);
    this.acquireSpan.setAttributes({ 'conclave.lock.key': key, 'conclave.lock.token': token.toString() });
    this.acquireSpan.end();
    this.holdSpan = tracer().startSpan('conclave.lock.hold', {
      attributes: { 'conclave.lock.name': this.name, 'conclave.lock.kind': this.kind, 'conclave.lock.key': key, 'conclave.lock.token': token.toString() },
    });
    if (this.kind === 'election') instruments().leadershipChanges.add(1, { 'conclave.election.name': this.name });
    report({ type: 'lock.acquired', kind: this.kind, name: this.name, key, token, waitMs });
  }

  failed(error: unknown): void {
    const code = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'ERR_UNKNOWN';
    const waitMs = this.nowMs() - this.startedAtMs;
    instruments().waitMs.record(waitMs, { 'conclave.lock.kind': this.kind, 'conclave.outcome': code });
    this.acquireSpan.setStatus({ code: SpanStatusCode.ERROR, message: code });
    this.acquireSpan.end();
    report({ type: 'lock.failed', kind: this.kind, name: this.name, waitMs, code });
  }

  /** The hold ended: released cleanly (`cause` undefined) or lost. */
  end(cause: LossCause | undefined): void {
    if (this.ended || this.holdSpan === undefined) return;
    this.ended = true;
    const heldMs = this.nowMs() - this.grantedAtMs;
    const end = cause === undefined ? 'released' : cause;
    instruments().holdMs.record(heldMs, { 'conclave.lock.kind': this.kind, 'conclave.end': end });
    if (this.kind === 'election') instruments().tenureMs.record(heldMs, { 'conclave.end': end });
    if (cause === undefined) {
      this.holdSpan.end();
      report({ type: 'lock.released', kind: this.kind, name: this.name, key: this.key, heldMs });
      return;
    }
    instruments().losses.add(1, { 'conclave.lock.kind': this.kind, 'conclave.cause': cause });
    this.holdSpan.setStatus({ code: SpanStatusCode.ERROR, message: `lost: ${cause}` });
    this.holdSpan.setAttribute('conclave.cause', cause);
    this.holdSpan.end();
    report({ type: 'lock.lost', kind: this.kind, name: this.name, key: this.key, heldMs, cause });
  }
}

export function recordLockDelay(name: string, delayedMs: number, cause: 'lost' | 'released' | 'unknown'): void {
  if (delayedMs > 0) instruments().delays.add(1, { 'conclave.cause': cause });
  report({ type: 'lock.delayed', name, delayedMs, cause });
}

export function recordKeepAlive(leaseId: bigint, latencyMs: number): void {
  instruments().keepAliveMs.record(latencyMs);
  report({ type: 'session.keepalive', leaseId, latencyMs });
}

export function recordSessionLoss(leaseId: bigint, code: string): void {
  instruments().sessionLosses.add(1, { 'conclave.cause': code });
  report({ type: 'session.lost', leaseId, code });
}

export function recordWatchReconnect(attempt: number): void {
  instruments().watchReconnects.add(1);
  report({ type: 'watch.reconnect', attempt });
}
