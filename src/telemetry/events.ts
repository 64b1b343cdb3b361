/**
 * Plain event hooks for applications that do not use OpenTelemetry: subscribe a listener,
 * get one typed event per lock cycle step, election change, keep-alive and watch reconnect.
 * Listeners run synchronously where the event happens; one that throws is ignored (it must
 * not break the recipe that reported the event).
 */
export type LockKind = 'mutex' | 'rwmutex' | 'semaphore' | 'election';
export type LossCause = 'session' | 'key-deleted' | 'watch-ended' | 'max-hold' | 'other';

export type ConclaveEvent =
  | { readonly type: 'lock.acquired'; readonly kind: LockKind; readonly name: string; readonly key: string; readonly token: bigint; readonly waitMs: number }
  | { readonly type: 'lock.contention'; readonly kind: LockKind; readonly name: string; readonly waitersAhead: number }
  | { readonly type: 'lock.failed'; readonly kind: LockKind; readonly name: string; readonly waitMs: number; readonly code: string }
  | { readonly type: 'lock.released'; readonly kind: LockKind; readonly name: string; readonly key: string; readonly heldMs: number }
  | { readonly type: 'lock.lost'; readonly kind: LockKind; readonly name: string; readonly key: string; readonly heldMs: number; readonly cause: LossCause }
  | { readonly type: 'lock.delayed'; readonly name: string; readonly delayedMs: number; readonly cause: 'lost' | 'released' | 'unknown' }
  | { readonly type: 'session.keepalive'; readonly leaseId: bigint; readonly latencyMs: number }
  | { readonly type: 'session.lost'; readonly leaseId: bigint; readonly code: string }
  | { readonly type: 'watch.reconnect'; readonly attempt: number };

type Listener = (event: ConclaveEvent) => void;

const listeners = new Set<Listener>();

/** Calls `listener` for every event in this process until the returned function is called. */
export function onConclaveEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function emit(event: ConclaveEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // A listener's failure is its own business.
    }
  }
}
