/**
 * Watch guarantees, per watcher, against a reference: the complete event stream of the run
 * (one watch from the first revision, read after the faults healed), itself bound to what the
 * clients saw (every acknowledged put is in it, at its revision, with its value). The
 * properties, as etcd's robustness suite states them:
 *   ordered    revisions never go down;
 *   unique     no (revision, key) event twice;
 *   atomic     a revision's events arrive together and complete (none of them missing);
 *   reliable   no gap: from its start revision to the end, the watcher saw exactly the
 *              reference's events that its filter selects (this is also what makes it
 *              resumable: reconnects happened in between);
 *   prev_kv    each event's previous value is the key's value before that revision;
 *   filters    only keys in range, no puts with noPut, no deletes with noDelete;
 *   progress   a progress notification's revision is never ahead of a revision not yet
 *              delivered (after a notification at r, no event at or below r follows).
 */

export interface ObservedEvent {
  readonly revision: bigint;
  readonly key: string;
  readonly type: 'put' | 'delete';
  readonly value: string;
  /** Undefined when the watch asked for no prev_kv or the key did not exist before. */
  readonly prevValue: string | undefined;
}

export interface WatchSpec {
  readonly id: number;
  readonly prefix: string;
  readonly startRevision: bigint;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
}

export interface WatcherRecord {
  readonly spec: WatchSpec;
  readonly events: readonly ObservedEvent[];
  /** Progress notification revisions, in the order received, with how many events had been delivered then. */
  readonly progress: ReadonlyArray<{ readonly revision: bigint; readonly afterEvents: number }>;
  /** Per event, the number of the response that carried it (when recorded). */
  readonly responses?: readonly number[];
}

export interface AcknowledgedPut {
  readonly key: string;
  readonly value: string;
  readonly revision: bigint;
}

export function selects(spec: WatchSpec, e: ObservedEvent): boolean {
  return e.key.startsWith(spec.prefix) && !(spec.noPut && e.type === 'put') && !(spec.noDelete && e.type === 'delete') && e.revision >= spec.startRevision;
}

const eventKey = (e: ObservedEvent): string => `${e.revision}/${e.key}`;

/** Checks the reference itself: ordered, unique, consistent prev values, and every acknowledged put in it. */
export function checkReference(reference: readonly ObservedEvent[], acknowledged: readonly AcknowledgedPut[]): string[] {
  const violations: string[] = [];
  const byRevisionKey = new Map<string, ObservedEvent>();
  const lastValue = new Map<string, string | undefined>();
  let previous = 0n;
  for (const e of reference) {
    if (e.revision < previous) violations.push(`reference: revision ${e.revision} after ${previous}`);
    previous = e.revision;
    if (byRevisionKey.has(eventKey(e))) violations.push(`reference: event ${eventKey(e)} twice`);
    byRevisionKey.set(eventKey(e), e);
    if (lastValue.has(e.key) && lastValue.get(e.key) !== e.prevValue) {
      violations.push(`reference: ${eventKey(e)} prev value ${JSON.stringify(e.prevValue)}, but the key held ${JSON.stringify(lastValue.get(e.key))}`);
    }
    lastValue.set(e.key, e.type === 'put' ? e.value : undefined);
  }
  const first = reference[0]?.revision ?? 0n;
  for (const put of acknowledged) {
    if (put.revision < first) continue;
    const e = byRevisionKey.get(`${put.revision}/${put.key}`);
    if (e === undefined || e.type !== 'put' || e.value !== put.value) {
      violations.push(`acknowledged put ${put.key}=${JSON.stringify(put.value)} at revision ${put.revision} is not in the event history (${e === undefined ? 'missing' : `${e.type} ${JSON.stringify(e.value)}`})`);
    }
  }
  return violations;
}

/** Checks one watcher against the reference; `complete` when it was drained past the reference's end. */
export function checkWatcher(record: WatcherRecord, reference: readonly ObservedEvent[], complete: boolean): string[] {
  const { spec, events } = record;
  const name = `watcher ${spec.id} (${spec.prefix}* from ${spec.startRevision}${spec.noPut ? ' noPut' : ''}${spec.noDelete ? ' noDelete' : ''})`;
  const violations: string[] = [];
  const seen = new Set<string>();
  let previous = 0n;
  for (const [i, e] of events.entries()) {
    if (e.revision < previous) violations.push(`${name}: not ordered: event ${i} at revision ${e.revision} after ${previous}`);
    previous = e.revision;
    if (seen.has(eventKey(e))) violations.push(`${name}: not unique: ${eventKey(e)} delivered twice`);
    seen.add(eventKey(e));
    if (!selects(spec, e)) violations.push(`${name}: filter not honoured: ${e.type} ${eventKey(e)}`);
    if (violations.length > 20) return violations;
  }
  const responses = record.responses;
  if (responses !== undefined) {
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.revision === events[i - 1]!.revision && responses[i] !== responses[i - 1]) {
        violations.push(`${name}: not atomic: revision ${events[i]!.revision} split over two responses`);
        break;
      }
    }
  }
  const expected = reference.filter((e) => selects(spec, e));
  const lastRevision = events.at(-1)?.revision ?? spec.startRevision - 1n;
  const expectedUpTo = complete ? expected : expected.filter((e) => e.revision <= lastRevision);
  const byKey = new Map(expected.map((e) => [eventKey(e), e]));
  for (let i = 0; i < Math.max(expectedUpTo.length, events.length); i++) {
    const want = expectedUpTo[i];
    const got = events[i];
    if (want === undefined || got === undefined || eventKey(want) !== eventKey(got) || want.type !== got.type || want.value !== got.value) {
      const what = want === undefined ? `an extra event ${eventKey(got!)}` : got === undefined ? `${eventKey(want)} missing at the end` : `${got.type} ${eventKey(got)} where the history has ${want.type} ${eventKey(want)}`;
      // Part of the missing event's revision was delivered: the revision was split.
      const atomic = want !== undefined && events.some((e) => e.revision === want.revision) ? 'atomic (part of a revision missing)' : 'reliable (a gap)';
      violations.push(`${name}: not ${atomic}: event ${i}: ${what}`);
      break;
    }
  }
  if (spec.prevKv) {
    for (const e of events) {
      const want = byKey.get(eventKey(e));
      if (want !== undefined && want.prevValue !== e.prevValue) {
        violations.push(`${name}: prev_kv wrong at ${eventKey(e)}: ${JSON.stringify(e.prevValue)}, the history has ${JSON.stringify(want.prevValue)}`);
        break;
      }
    }
  }
  for (const p of record.progress) {
    const later = events.slice(p.afterEvents).find((e) => e.revision <= p.revision);
    if (later !== undefined) violations.push(`${name}: progress notification at ${p.revision} was ahead: event ${eventKey(later)} came after it`);
  }
  return violations;
}
