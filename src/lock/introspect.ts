/**
 * Introspection of the lock recipes for dashboards and operators: who holds, who waits, in
 * queue order, read from the store (a snapshot at one revision; it may be stale by the time it
 * is shown). Waiting-since is the revision at which an entry queued (its create revision, also
 * its fencing token). Held-since is the first revision at which the entry held: found by a
 * binary search over history (about log2(revisions since it queued) keys-only reads); it is
 * undefined when that history was compacted.
 */
import { ConclaveError } from '../base/index.js';
import type { Client, KeyValue } from '../client/index.js';

export interface LockEntry {
  readonly key: string;
  /** Fencing token: the key's create revision. */
  readonly token: bigint;
  /** The lease the key is attached to (the holder's session). */
  readonly lease: bigint;
  /** Revision at which the entry queued (equals `token`). */
  readonly waitingSinceRevision: bigint;
  /** For RWMutex entries: which lock the entry asked for. */
  readonly mode?: 'read' | 'write';
}

export interface LockHolder extends LockEntry {
  /** First revision at which this entry held the lock; undefined when history was compacted. */
  readonly heldSinceRevision: bigint | undefined;
}

export interface LockSnapshot {
  /** Store revision the snapshot was read at. */
  readonly revision: bigint;
  readonly holders: LockHolder[];
  /** Waiting entries, first in line first. */
  readonly waiters: LockEntry[];
}

/** What makes an entry hold: fewer than `allowed` keys under `blockers` older than itself. */
export interface HoldRule {
  readonly blockers: string;
  readonly allowed: number;
}

export function toEntry(kv: KeyValue, mode?: 'read' | 'write'): LockEntry {
  return { key: kv.key, token: kv.createRevision, lease: kv.lease, waitingSinceRevision: kv.createRevision, ...(mode === undefined ? {} : { mode }) };
}

/** All keys under `prefix`, oldest first, with the revision they were read at. */
export async function readQueue(client: Client, prefix: string, signal?: AbortSignal): Promise<{ revision: bigint; kvs: KeyValue[] }> {
  const builder = client.get(prefix).prefix().keysOnly().sort('create', 'ascend');
  const result = await (signal === undefined ? builder : builder.signal(signal));
  return { revision: result.header.revision, kvs: result.kvs };
}

/**
 * The first revision in [entry.token, atRevision] at which the entry held under `rule`. Holding
 * is monotone over that span: keys created later are never older than the entry, so blockers
 * only go away.
 */
export async function heldSince(client: Client, entry: LockEntry, rule: HoldRule, atRevision: bigint, signal?: AbortSignal): Promise<bigint | undefined> {
  const holdsAt = async (revision: bigint): Promise<boolean> => {
    // Not countOnly: etcd's count ignores the create-revision filter; limit applies after it.
    const builder = client.get(rule.blockers).prefix().keysOnly().maxCreateRevision(entry.token - 1n).limit(rule.allowed).revision(revision);
    return (await (signal === undefined ? builder : builder.signal(signal))).kvs.length < rule.allowed;
  };
  let low = entry.token;
  let high = atRevision;
  try {
    for (let step = 0; low < high && step < 80; step += 1) {
      const middle = (low + high) / 2n;
      if (await holdsAt(middle)) high = middle;
      else low = middle + 1n;
    }
    return low;
  } catch (error) {
    if (ConclaveError.is(error) && error.code === 'ERR_ETCD_COMPACTED') return undefined;
    throw error;
  }
}

/** Splits `kvs` (oldest first) into holders and waiters under `holds`, and dates the holders. */
export async function snapshotOf(
  client: Client, revision: bigint, kvs: KeyValue[],
  classify: (kv: KeyValue, index: number) => { holds: boolean; rule: HoldRule; mode?: 'read' | 'write' },
  signal?: AbortSignal,
): Promise<LockSnapshot> {
  const holders: LockHolder[] = [];
  const waiters: LockEntry[] = [];
  for (const [index, kv] of kvs.entries()) {
    const { holds, rule, mode } = classify(kv, index);
    const entry = toEntry(kv, mode);
    if (!holds) waiters.push(entry);
    else holders.push({ ...entry, heldSinceRevision: await heldSince(client, entry, rule, revision, signal) });
  }
  return { revision, holders, waiters };
}
