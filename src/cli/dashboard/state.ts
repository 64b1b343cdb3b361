/**
 * The dashboard's model of one cluster, built on the SDK so it works against Conclave and etcd
 * alike: a mirror of the keys (one read, then one watch over the whole keyspace from the next
 * revision, so lock and election changes arrive as pushed events), and a periodic round of
 * what no watch reports (member status, lease TTLs, /metrics scrapes). `updates()` yields a
 * fresh snapshot after every change, coalescing bursts.
 */
import { Client, FROM_KEY, WatchCompactedError } from '../../client/index.js';
import type { KeyValue, TlsOptions } from '../../client/index.js';
import { metricsFetcher } from './metrics-fetch.js';
import { MetricsSampler } from './metrics-sampler.js';
import type { MemberMetrics } from './metrics-sampler.js';
import { recipes, services } from './kv-view.js';
import type { ElectionView, LockView, MirroredKey, ServiceView } from './kv-view.js';

export interface DashboardOptions {
  readonly client: Client;
  /** Where ServiceRegistry entries live. Default "services/". */
  readonly servicesPrefix?: string;
  /** Member status, leases and metrics are refreshed this often. Default 2000. */
  readonly refreshMs?: number;
  /** Most keys mirrored; beyond it the key browser says it is truncated. Default 10000. */
  readonly maxKeys?: number;
  /** Most leases whose TTL is read per round. Default 500. */
  readonly maxLeases?: number;
  readonly allowActions?: boolean;
  /** TLS material for the per-member status connections (as given to `client`). */
  readonly tls?: TlsOptions;
  readonly now?: () => number;
}

export interface MemberView {
  readonly id: string;
  readonly name: string;
  readonly clientUrls: string[];
  readonly role: 'leader' | 'follower' | 'learner' | 'unreachable';
  readonly term: string | null;
  readonly commitIndex: string | null;
  readonly appliedIndex: string | null;
  /** The leader's commit index minus this member's applied index. */
  readonly lag: string | null;
  readonly dbSizeBytes: string | null;
  readonly version: string | null;
  readonly alarms: string[];
  readonly error?: string;
  readonly metrics: MemberMetrics;
}

export interface LeaseView {
  readonly id: string;
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: string[];
}

export interface KeyView {
  readonly key: string;
  readonly value: string;
  readonly createRevision: string;
  readonly modRevision: string;
  readonly version: string;
  readonly lease: string;
}

export interface Snapshot {
  readonly atMs: number;
  readonly revision: string;
  readonly leader: string | null;
  readonly members: MemberView[];
  readonly keys: KeyView[];
  readonly keysTruncated: boolean;
  readonly leases: LeaseView[];
  readonly locks: LockView[];
  readonly elections: ElectionView[];
  readonly barriers: LockView[];
  readonly services: ServiceView[];
  readonly allowActions: boolean;
  readonly error?: string;
}

/** Values are cut to this many characters in the page. */
const MAX_VALUE_CHARS = 200;
/** Bursts of watch events within this window become one snapshot. */
const COALESCE_MS = 50;

export class DashboardState {
  private readonly client: Client;
  private readonly servicesPrefix: string;
  private readonly refreshMs: number;
  private readonly maxKeys: number;
  private readonly maxLeases: number;
  private readonly now: () => number;
  private readonly keys = new Map<string, MirroredKey>();
  private truncated = false;
  private revision = 0n;
  private members: MemberView[] = [];
  private leases: LeaseView[] = [];
  private leader: string | null = null;
  private error: string | undefined;
  private readonly sampler: MetricsSampler;
  private readonly statusClients = new Map<string, Client>();
  private version = 0;
  private wake: (() => void) | undefined;
  private readonly stopController = new AbortController();
  private loops: Promise<unknown> | undefined;

  constructor(private readonly options: DashboardOptions) {
    this.client = options.client;
    // /metrics on an https client URL needs the same CA and client certificate as gRPC there.
    this.sampler = new MetricsSampler(metricsFetcher(options.tls));
    this.servicesPrefix = options.servicesPrefix ?? 'services/';
    this.refreshMs = options.refreshMs ?? 2_000;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.maxLeases = options.maxLeases ?? 500;
    this.now = options.now ?? Date.now;
  }

  /** Starts mirroring; resolves after the first full read (so the first snapshot is complete). */
  async start(): Promise<void> {
    const startRevision = await this.readAll();
    await this.refresh();
    this.loops = Promise.all([this.mirror(startRevision), this.refreshLoop()]);
  }

  async stop(): Promise<void> {
    this.stopController.abort(new Error('dashboard stopped'));
    this.wake?.();
    await this.loops?.catch(() => {});
    await Promise.all([...this.statusClients.values()].map((c) => c.close().catch(() => {})));
  }

  snapshot(): Snapshot {
    const mirrored = [...this.keys.values()];
    const derived = recipes(mirrored, this.servicesPrefix);
    return {
      atMs: this.now(),
      revision: this.revision.toString(),
      leader: this.leader,
      members: this.members,
      keys: mirrored.sort((a, b) => (a.key < b.key ? -1 : 1)).map(keyView),
      keysTruncated: this.truncated,
      leases: this.leases,
      ...derived,
      services: services(mirrored, this.servicesPrefix),
      allowActions: this.options.allowActions === true,
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }

  /** The current snapshot, then one after every change, until `signal` aborts. */
  async *updates(signal: AbortSignal): AsyncGenerator<Snapshot> {
    let seen = -1;
    while (!signal.aborted && !this.stopController.signal.aborted) {
      if (this.version !== seen) {
        seen = this.version;
        yield this.snapshot();
        continue;
      }
      await new Promise<void>((resolve) => {
        const previous = this.wake;
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = () => {
          previous?.();
          done();
        };
        signal.addEventListener('abort', done, { once: true });
      });
      // Let a burst of events land before the next snapshot.
      await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
    }
  }

  private changed(): void {
    this.version += 1;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async readAll(): Promise<bigint> {
    const all = await this.client.get('\0').fromKey().limit(this.maxKeys).signal(this.stopController.signal);
    this.keys.clear();
    for (const kv of all.kvs) this.keys.set(kv.key, mirrored(kv, undefined));
    this.truncated = all.more;
    this.revision = all.header.revision;
    this.changed();
    return all.header.revision + 1n;
  }

  /** Applies every change of the keyspace; re-reads everything after a compaction. */
  private async mirror(startRevision: bigint): Promise<void> {
    let from = startRevision;
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      const watcher = this.client.watch('\0', { rangeEnd: FROM_KEY, startRevision: from, signal });
      try {
        for (;;) {
          const batch = await watcher.nextBatch();
          if (batch === undefined) return;
          for (const event of batch) {
            if (event.type === 'delete') this.keys.delete(event.kv.key);
            else if (this.keys.has(event.kv.key) || this.keys.size < this.maxKeys) this.keys.set(event.kv.key, mirrored(event.kv, this.keys.get(event.kv.key)?.firstSeenMs ?? this.now()));
            else this.truncated = true;
            if (event.kv.modRevision > this.revision) this.revision = event.kv.modRevision;
            from = event.kv.modRevision + 1n;
          }
          this.error = undefined;
          this.changed();
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof WatchCompactedError) from = await this.readAll();
        else {
          this.error = `watch: ${error instanceof Error ? error.message : String(error)}`;
          this.changed();
          await new Promise((resolve) => setTimeout(resolve, this.refreshMs));
        }
      } finally {
        watcher.close();
      }
    }
  }

  private async refreshLoop(): Promise<void> {
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, this.refreshMs));
      if (signal.aborted) return;
      await this.refresh().catch((error: unknown) => {
        this.error = `refresh: ${error instanceof Error ? error.message : String(error)}`;
      });
      this.changed();
    }
  }

  /** Members with their status and metrics, and leases with their TTLs: what no watch reports. */
  private async refresh(): Promise<void> {
    const signal = this.stopController.signal;
    const list = await this.client.memberList({ signal });
    const urls = list.map((m) => m.clientUrls[0] ?? '');
    this.retainStatusClients(urls);
    // A member that has not published its client URLs yet (just started or added) has none to ask.
    const statuses = await Promise.all(urls.map((url) => (url === ''
      ? new Error('no client URL published yet')
      : this.statusClientFor(url).status({ signal, timeoutMs: 1_500 }).catch((error: unknown) => error as Error))));
    const nowMs = this.now();
    await Promise.all(urls.map((url) => (url === '' ? undefined : this.sampler.scrape(url, nowMs, signal))));
    this.sampler.retain(urls);
    const leaderStatus = statuses.find((s) => !(s instanceof Error) && s.leader !== 0n && s.leader === s.header.memberId);
    const leaderCommit = leaderStatus instanceof Error || leaderStatus === undefined ? undefined : leaderStatus.raftIndex;
    const leaderId = statuses.find((s) => !(s instanceof Error) && s.leader !== 0n);
    this.leader = leaderId === undefined || leaderId instanceof Error ? null : leaderId.leader.toString(16);
    this.members = list.map((member, i) => {
      const status = statuses[i]!;
      const base = { id: member.id.toString(16), name: member.name, clientUrls: member.clientUrls, metrics: this.sampler.get(urls[i]!) };
      if (status instanceof Error) {
        return { ...base, role: 'unreachable', term: null, commitIndex: null, appliedIndex: null, lag: null, dbSizeBytes: null, version: null, alarms: [], error: status.message };
      }
      const applied = status.raftAppliedIndex === 0n ? status.raftIndex : status.raftAppliedIndex;
      const role = member.isLearner ? 'learner' : status.leader === member.id ? 'leader' : 'follower';
      return {
        ...base, role, term: status.raftTerm.toString(), commitIndex: status.raftIndex.toString(), appliedIndex: applied.toString(),
        lag: leaderCommit === undefined ? null : (leaderCommit > applied ? leaderCommit - applied : 0n).toString(),
        dbSizeBytes: status.dbSize.toString(), version: status.version, alarms: status.errors,
      };
    });
    const ids = (await this.client.leases({ signal })).slice(0, this.maxLeases);
    const leases = await Promise.all(ids.map(async (id) => {
      const ttl = await this.client.leaseTimeToLive(id, { keys: true, signal }).catch(() => undefined);
      if (ttl === undefined || ttl.ttlSeconds < 0) return undefined;
      return { id: id.toString(16), ttlSeconds: ttl.ttlSeconds, grantedTtlSeconds: ttl.grantedTtlSeconds, keys: ttl.keys.map((k) => Buffer.from(k).toString('utf8')) };
    }));
    this.leases = leases.filter((l): l is LeaseView => l !== undefined);
  }

  /** A client for one member alone, so each member's own Status is asked (a pooled client answers from one). */
  private statusClientFor(url: string): Client {
    let client = this.statusClients.get(url);
    if (client === undefined) {
      const tls = this.options.tls;
      client = new Client({ endpoints: [url.replace(/^https?:\/\//, '')], retry: { retries: 0 }, ...(tls === undefined ? {} : { tls }) });
      this.statusClients.set(url, client);
    }
    return client;
  }

  private retainStatusClients(urls: readonly string[]): void {
    for (const [url, client] of this.statusClients) {
      if (urls.includes(url)) continue;
      this.statusClients.delete(url);
      void client.close().catch(() => {});
    }
  }
}

function mirrored(kv: KeyValue, firstSeenMs: number | undefined): MirroredKey {
  return { key: kv.key, value: kv.value.slice(0, MAX_VALUE_CHARS), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease, firstSeenMs };
}

function keyView(kv: MirroredKey): KeyView {
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision.toString(), modRevision: kv.modRevision.toString(), version: kv.version.toString(), lease: kv.lease.toString(16) };
}
