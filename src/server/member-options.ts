import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { InvalidOptionError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { silentLogger } from '../base/logger.js';
import { requireInteger } from '../base/validate.js';
import type { BackendEngine } from '../storage/backend/index.js';
import type { FileSystem } from '../storage/index.js';
import { CLIENT_TLS_OPTIONS, PEER_TLS_OPTIONS, resolveTls } from './tls.js';
import type { TlsMaterial } from './tls.js';

/**
 * A member's configuration. Names follow etcd's flags where they mean the same thing
 * (`--heartbeat-interval` is `heartbeatIntervalMs`, and so on).
 */
export interface MemberOptions {
  /** Human-readable name, unique in the cluster (etcd `--name`). Default "default". */
  readonly name?: string;
  /** Where the WAL, snapshots and backend live (etcd `--data-dir`). Required. */
  readonly dataDir: string;
  /** Client URLs to listen on (etcd `--listen-client-urls`). Default http://127.0.0.1:2379. */
  readonly listenClientUrls?: readonly string[];
  /** Client URLs to advertise (default: the listen URLs). */
  readonly advertiseClientUrls?: readonly string[];
  /** Extra http URLs serving only /metrics, /health, /livez, /readyz, /version (etcd `--listen-metrics-urls`). Default none. */
  readonly listenMetricsUrls?: readonly string[];
  /** Peer URLs to listen on (default http://127.0.0.1:2380). */
  readonly listenPeerUrls?: readonly string[];
  /** Peer URLs to advertise (default: the listen URLs). */
  readonly initialAdvertisePeerUrls?: readonly string[];
  /** name=url,... of the initial members (default: this member alone). */
  readonly initialCluster?: string;
  readonly initialClusterState?: 'new' | 'existing';
  readonly initialClusterToken?: string;
  /** Raft heartbeat interval (etcd default 100 ms). */
  readonly heartbeatIntervalMs?: number;
  /** Raft election timeout (etcd default 1000 ms); a multiple of the heartbeat interval. */
  readonly electionTimeoutMs?: number;
  /** Applied entries between snapshots (etcd default 100,000; ours 10,000). */
  readonly snapshotCount?: number;
  /** Entries kept behind a snapshot for slow followers (etcd's --experimental-snapshot-catchup-entries, default 5,000). */
  readonly snapshotCatchUpEntries?: number;
  /** Backend size that raises the NOSPACE alarm (etcd default 2 GiB). */
  readonly quotaBackendBytes?: number;
  /** Periodic auto-compaction: keep this many hours of history (0 = off). */
  readonly autoCompactionRetentionHours?: number;
  /** Largest request accepted (etcd default 1.5 MiB). */
  readonly maxRequestBytes?: number;
  /** Most operations in one txn (etcd default 128). */
  readonly maxTxnOps?: number;
  /**
   * The leader promotes a learner to voter once its log has stayed close to the leader's for a
   * while (etcd leaves promotion to the operator; this is its stated direction). Default true.
   */
  readonly autoPromoteLearners?: boolean;
  /** Backend engine (default memory). */
  readonly engine?: BackendEngine;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** The file system (default: the real one). */
  readonly fileSystem?: FileSystem;
  /**
   * Test-only fault injection (what `conclave/testing` partitions and pauses with): asked for
   * every raft message and peer RPC between this member and a peer, by member id; `false`
   * drops it, as a network partition would. Must be cheap and synchronous. Leave unset in
   * production.
   */
  readonly peerMessageFilter?: PeerMessageFilter;
  /** PEM certificate (chain) served on https client URLs (etcd `--cert-file`). Required by https client URLs. */
  readonly certFile?: string;
  /** PEM private key of `certFile` (etcd `--key-file`). */
  readonly keyFile?: string;
  /** PEM CA bundle that verifies client certificates (etcd `--trusted-ca-file`). */
  readonly trustedCaFile?: string;
  /** Require and verify a client certificate signed by `trustedCaFile` (etcd `--client-cert-auth`). Default false. */
  readonly clientCertAuth?: boolean;
  /** PEM certificate (chain) for the peer port, also presented when dialing peers (etcd `--peer-cert-file`). Required by https peer URLs. */
  readonly peerCertFile?: string;
  /** PEM private key of `peerCertFile` (etcd `--peer-key-file`). */
  readonly peerKeyFile?: string;
  /** PEM CA bundle that verifies peers, both dialed and dialing (etcd `--peer-trusted-ca-file`). */
  readonly peerTrustedCaFile?: string;
  /** Require and verify a certificate from every dialing peer (etcd `--peer-client-cert-auth`). Default false. */
  readonly peerClientCertAuth?: boolean;
  // ---- auth (issue 11) ----
  /** etcd `--auth-token`: `simple` (default) or `jwt,pub-key=PATH,priv-key=PATH,sign-method=RS256[,ttl=5m]`. */
  readonly authToken?: string;
  /** etcd `--auth-token-ttl`: seconds a simple token lives after its last use (default 300). */
  readonly authTokenTtlSeconds?: number;
  /** bcrypt cost of stored passwords (etcd: 10; 4..31). */
  readonly bcryptCost?: number;
  // ---- end auth ----
}

/** The TLS options: resolved into `clientTls` and `peerTls` (the files read and checked). */
type TlsOptionKey = 'certFile' | 'keyFile' | 'trustedCaFile' | 'clientCertAuth' | 'peerCertFile' | 'peerKeyFile' | 'peerTrustedCaFile' | 'peerClientCertAuth';

/** `false` drops traffic from member `from` to member `to` (see MemberOptions.peerMessageFilter). */
export type PeerMessageFilter = (from: bigint, to: bigint) => boolean;

export type ResolvedMemberOptions = Required<Omit<MemberOptions, 'fileSystem' | 'peerMessageFilter' | TlsOptionKey>> & {
  readonly fileSystem: FileSystem | undefined;
  readonly peerMessageFilter: PeerMessageFilter | undefined;
  /** TLS for https client URLs; undefined when every client URL is http. */
  readonly clientTls: TlsMaterial | undefined;
  /** TLS for https peer URLs (listening, and dialing peers); undefined when every peer URL is http. */
  readonly peerTls: TlsMaterial | undefined;
  /** With --client-cert-auth, a verified client certificate's CN is the user (etcd's rule). */
  readonly clientCertAuthUsers: boolean;
};

export const MEMBER_DEFAULTS = Object.freeze({
  name: 'default',
  listenClientUrls: ['http://127.0.0.1:2379'],
  listenPeerUrls: ['http://127.0.0.1:2380'],
  initialClusterState: 'new' as const,
  initialClusterToken: 'etcd-cluster',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 10_000,
  snapshotCatchUpEntries: 5_000,
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  autoCompactionRetentionHours: 0,
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  engine: 'memory' as const,
  authToken: 'simple',
  authTokenTtlSeconds: 300,
  bcryptCost: 10,
});

function urls(option: string, values: readonly string[]): string[] {
  if (values.length === 0) throw new InvalidOptionError(option, 'needs at least one URL');
  return values.map((value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InvalidOptionError(option, `${JSON.stringify(value)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError(option, `${value}: scheme must be http or https`);
    if (url.port === '') throw new InvalidOptionError(option, `${value}: a port is required`);
    return `${url.protocol}//${url.host}`;
  });
}

function metricsUrls(values: readonly string[]): string[] {
  const list = values.length === 0 ? [] : urls('listenMetricsUrls', values);
  for (const url of list) if (!url.startsWith('http://')) throw new InvalidOptionError('listenMetricsUrls', `${url}: only http metrics URLs are supported`);
  return list;
}

/** Parses etcd's `name=url,name=url` initial-cluster syntax. */
export function parseInitialCluster(text: string): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidOptionError('initialCluster', `${JSON.stringify(part)} is not name=url`);
    const name = part.slice(0, eq);
    const list = members.get(name) ?? [];
    list.push(...urls('initialCluster', [part.slice(eq + 1)]));
    members.set(name, list);
  }
  if (members.size === 0) throw new InvalidOptionError('initialCluster', 'names no member');
  return members;
}

/**
 * etcd's start-up checks of `--initial-cluster` against the member itself: no URL under two
 * names, this member's name present, and its URLs there exactly its advertised peer URLs (a
 * member started under the wrong name would otherwise join as a second entry for one URL).
 */
export function validateInitialCluster(text: string, name: string, advertisePeerUrls: readonly string[]): void {
  const members = parseInitialCluster(text);
  const all = [...members.values()].flat();
  if (new Set(all).size !== all.length) throw new InvalidOptionError('initialCluster', `initial cluster ${text} has duplicate url`);
  const mine = members.get(name);
  if (mine === undefined) throw new InvalidOptionError('initialCluster', `couldn't find local name ${JSON.stringify(name)} in the initial cluster configuration`);
  const sorted = (urls: readonly string[]): string => [...urls].sort().join(',');
  if (sorted(mine) !== sorted(advertisePeerUrls)) {
    throw new InvalidOptionError('initialCluster', `has ${name}=${mine.join(',')} but missing from initialAdvertisePeerUrls=${advertisePeerUrls.join(',')} (${JSON.stringify(sorted(advertisePeerUrls))} != ${JSON.stringify(sorted(mine))})`);
  }
}

export function resolveMemberOptions(options: MemberOptions): ResolvedMemberOptions {
  if (typeof options.dataDir !== 'string' || options.dataDir === '') throw new InvalidOptionError('dataDir', 'is required');
  const name = options.name ?? MEMBER_DEFAULTS.name;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new InvalidOptionError('name', 'must be 1 to 64 letters, digits, dots, dashes or underscores');
  const listenClientUrls = urls('listenClientUrls', options.listenClientUrls ?? MEMBER_DEFAULTS.listenClientUrls);
  const listenPeerUrls = urls('listenPeerUrls', options.listenPeerUrls ?? MEMBER_DEFAULTS.listenPeerUrls);
  const initialAdvertisePeerUrls = urls('initialAdvertisePeerUrls', options.initialAdvertisePeerUrls ?? listenPeerUrls);
  const heartbeatIntervalMs = requireInteger('heartbeatIntervalMs', options.heartbeatIntervalMs ?? MEMBER_DEFAULTS.heartbeatIntervalMs, 1, 60_000);
  const electionTimeoutMs = requireInteger('electionTimeoutMs', options.electionTimeoutMs ?? MEMBER_DEFAULTS.electionTimeoutMs, 1, 600_000);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new InvalidOptionError('electionTimeoutMs', `must be at least 5 times heartbeatIntervalMs (${heartbeatIntervalMs}), got ${electionTimeoutMs}`);
  }
  const initialClusterState = options.initialClusterState ?? MEMBER_DEFAULTS.initialClusterState;
  if (initialClusterState !== 'new' && initialClusterState !== 'existing') throw new InvalidOptionError('initialClusterState', "must be 'new' or 'existing'");
  const engine = options.engine ?? MEMBER_DEFAULTS.engine;
  if (engine !== 'memory' && engine !== 'lmdb') throw new InvalidOptionError('engine', "must be 'memory' or 'lmdb'");
  const initialCluster = options.initialCluster ?? `${name}=${initialAdvertisePeerUrls.join(`,${name}=`)}`;
  validateInitialCluster(initialCluster, name, initialAdvertisePeerUrls);
  const clientTls = resolveTls(CLIENT_TLS_OPTIONS, { certFile: options.certFile, keyFile: options.keyFile, trustedCaFile: options.trustedCaFile, clientCertAuth: options.clientCertAuth }, listenClientUrls);
  const peerTls = resolveTls(PEER_TLS_OPTIONS, { certFile: options.peerCertFile, keyFile: options.peerKeyFile, trustedCaFile: options.peerTrustedCaFile, clientCertAuth: options.peerClientCertAuth }, listenPeerUrls);
  return {
    name,
    dataDir: options.dataDir,
    listenClientUrls,
    advertiseClientUrls: urls('advertiseClientUrls', options.advertiseClientUrls ?? listenClientUrls),
    listenPeerUrls,
    listenMetricsUrls: metricsUrls(options.listenMetricsUrls ?? []),
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState,
    initialClusterToken: options.initialClusterToken ?? MEMBER_DEFAULTS.initialClusterToken,
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: requireInteger('snapshotCount', options.snapshotCount ?? MEMBER_DEFAULTS.snapshotCount, 1),
    snapshotCatchUpEntries: requireInteger('snapshotCatchUpEntries', options.snapshotCatchUpEntries ?? MEMBER_DEFAULTS.snapshotCatchUpEntries, 0, 10_000_000),
    quotaBackendBytes: requireInteger('quotaBackendBytes', options.quotaBackendBytes ?? MEMBER_DEFAULTS.quotaBackendBytes, 1),
    autoCompactionRetentionHours: requireInteger('autoCompactionRetentionHours', options.autoCompactionRetentionHours ?? 0, 0, 24 * 365 * 10),
    maxRequestBytes: requireInteger('maxRequestBytes', options.maxRequestBytes ?? MEMBER_DEFAULTS.maxRequestBytes, 1, 64 * 1024 * 1024),
    maxTxnOps: requireInteger('maxTxnOps', options.maxTxnOps ?? MEMBER_DEFAULTS.maxTxnOps, 1, 1_000_000),
    engine,
    autoPromoteLearners: options.autoPromoteLearners ?? true,
    // ---- auth (issue 11) ----
    authToken: options.authToken ?? MEMBER_DEFAULTS.authToken,
    authTokenTtlSeconds: requireInteger('authTokenTtlSeconds', options.authTokenTtlSeconds ?? MEMBER_DEFAULTS.authTokenTtlSeconds, 1, 365 * 24 * 3600),
    bcryptCost: requireInteger('bcryptCost', options.bcryptCost ?? MEMBER_DEFAULTS.bcryptCost, 4, 31),
    clientCertAuthUsers: clientTls?.clientCertAuth ?? false,
    // ---- end auth ----
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    fileSystem: options.fileSystem,
    peerMessageFilter: options.peerMessageFilter,
    clientTls,
    peerTls,
  };
}
