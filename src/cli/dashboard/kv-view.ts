/**
 * What the dashboard derives from the keys it mirrors: locks and elections (etcd's recipe
 * layout `<name>/<lease id in hex>`, shared by our Mutex/Election, etcdctl and Go clients: the
 * oldest key holds), double-barrier participants, and the service registry. Pure functions of
 * the key map, so the page's view is recomputed on every watch event.
 */
import { decodeEntry } from '../../discovery/format.js';

export interface MirroredKey {
  readonly key: string;
  readonly value: string;
  readonly createRevision: bigint;
  readonly modRevision: bigint;
  readonly version: bigint;
  readonly lease: bigint;
  /** Wall-clock ms when the dashboard saw the key created; undefined for keys that existed when it started. */
  readonly firstSeenMs: number | undefined;
}

export interface Contender {
  readonly key: string;
  readonly lease: string;
  /** Create revision: the fencing token once it holds. */
  readonly token: string;
  readonly value: string;
  readonly sinceMs: number | null;
}

export interface LockView {
  readonly name: string;
  readonly holder: Contender;
  /** In the order they will get the lock. */
  readonly waiters: readonly Contender[];
}

export interface ElectionView {
  readonly name: string;
  readonly leader: Contender;
  readonly candidates: readonly Contender[];
}

export interface ServiceView {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly healthy: boolean;
  readonly lease: string;
  readonly metadata: Record<string, unknown>;
}

const recipeKey = /^(.+)\/([0-9a-f]+)$/;

export function recipes(keys: Iterable<MirroredKey>, servicesPrefix: string): { locks: LockView[]; elections: ElectionView[]; barriers: LockView[] } {
  const groups = new Map<string, MirroredKey[]>();
  for (const kv of keys) {
    if (kv.lease === 0n || kv.key.startsWith(servicesPrefix)) continue;
    const match = recipeKey.exec(kv.key);
    if (match === null || match[2] !== kv.lease.toString(16)) continue;
    const group = groups.get(match[1]!) ?? [];
    group.push(kv);
    groups.set(match[1]!, group);
  }
  const locks: LockView[] = [];
  const elections: ElectionView[] = [];
  const barriers: LockView[] = [];
  for (const [name, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ordered = group.sort((a, b) => (a.createRevision < b.createRevision ? -1 : 1)).map(contender);
    const [first, ...rest] = ordered;
    if (name.endsWith('/waiters')) barriers.push({ name: name.slice(0, -'/waiters'.length), holder: first!, waiters: rest });
    // Lock keys are empty; an election key holds the candidate's proposal.
    else if (group.some((kv) => kv.value !== '')) elections.push({ name, leader: first!, candidates: rest });
    else locks.push({ name, holder: first!, waiters: rest });
  }
  return { locks, elections, barriers };
}

export function services(keys: Iterable<MirroredKey>, prefix: string): ServiceView[] {
  const out: ServiceView[] = [];
  for (const kv of keys) {
    if (!kv.key.startsWith(prefix)) continue;
    const [service, id, ...more] = kv.key.slice(prefix.length).split('/');
    if (service === undefined || id === undefined || more.length > 0) continue;
    const entry = decodeEntry(service, kv.key, id, kv.value, kv.modRevision);
    if (entry === undefined) continue;
    out.push({ service, id, address: entry.address, healthy: entry.healthy, lease: kv.lease.toString(16), metadata: entry.metadata });
  }
  return out.sort((a, b) => (a.service + a.id < b.service + b.id ? -1 : 1));
}

function contender(kv: MirroredKey): Contender {
  return { key: kv.key, lease: kv.lease.toString(16), token: kv.createRevision.toString(), value: kv.value, sinceMs: kv.firstSeenMs ?? null };
}
