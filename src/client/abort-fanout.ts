/**
 * One 'abort' listener per signal, however many calls and watchers wait on it. A caller may
 * hand the same AbortSignal to thousands of calls; a listener each would make Node print
 * MaxListenersExceededWarning into the caller's logs past 10, and cost an EventTarget
 * registration per call. Subscribers are objects with `handleEvent` (no closure per call).
 */
export interface AbortSubscriber {
  handleEvent(): void;
}

const subscribersBySignal = new WeakMap<AbortSignal, Set<AbortSubscriber>>();

/** Calls `subscriber.handleEvent()` when `signal` aborts (the caller checks `aborted` first). */
export function subscribeAbort(signal: AbortSignal, subscriber: AbortSubscriber): void {
  let subscribers = subscribersBySignal.get(signal);
  if (subscribers === undefined) {
    const set = new Set<AbortSubscriber>();
    subscribers = set;
    subscribersBySignal.set(signal, set);
    signal.addEventListener('abort', () => {
      subscribersBySignal.delete(signal);
      for (const each of [...set]) each.handleEvent();
      set.clear();
    }, { once: true });
  }
  subscribers.add(subscriber);
}

export function unsubscribeAbort(signal: AbortSignal, subscriber: AbortSubscriber): void {
  subscribersBySignal.get(signal)?.delete(subscriber);
}
